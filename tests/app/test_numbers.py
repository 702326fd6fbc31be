"""Whole numbers over HTTP with the starter reader: /read, and /add, /multiply, /compare on
numbers drawn from real MNIST test digits."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import ApiSettings
from models.numbers import render
from tests.helpers import image_bytes

STYLE = render.Style(gap=(2.0, 6.0))


@pytest.fixture(scope="module")
def starter_client(tmp_path_factory):
    """An API whose empty store was seeded with the shipped starter models."""
    settings = ApiSettings(artifact_root=tmp_path_factory.mktemp("starter-store"), max_digits=60)
    with TestClient(create_app(settings)) as client:
        yield client


def _number(digits, length: int, rng: np.random.Generator) -> tuple[bytes, str]:
    images, labels = digits
    chosen = rng.integers(0, len(images), length)
    if labels[chosen[0]] == 0:  # a leading zero would make the value shorter than the image
        chosen[0] = np.flatnonzero(labels != 0)[0]
    drawn = render.render(list(images[chosen]), rng, STYLE)
    return drawn.png(), "".join(str(d) for d in labels[chosen])


def _post(client, route: str, a: bytes, b: bytes, **params):
    return client.post(f"/{route}", files={"a": a, "b": b}, params=params)


def test_read_gives_the_number_digit_by_digit(starter_client, digits) -> None:
    rng = np.random.default_rng(3)
    right = 0
    for _ in range(20):
        image, truth = _number(digits, 6, rng)
        response = starter_client.post("/read", files={"image": image})
        assert response.status_code == 200
        body = response.json()
        assert body["model"] == {"name": "reader", "version": 1, "kind": "reader"}
        assert len(body["digits"]) == 6
        assert body["value"] == "".join(str(d["value"]) for d in body["digits"])
        assert 0.0 < body["confidence"] <= min(d["confidence"] for d in body["digits"]) + 1e-9
        lefts = [d["box"]["x"] for d in body["digits"]]
        assert lefts == sorted(lefts)
        right += body["value"] == truth
    assert right >= 16  # the starter reader reads 99.3% of single test digits right


@pytest.mark.parametrize(
    ("route", "operator"),
    [("add", lambda a, b: a + b), ("multiply", lambda a, b: a * b)],
)
def test_arithmetic_on_multi_digit_numbers_is_exact(starter_client, digits, route, operator):
    rng = np.random.default_rng(7)
    right = 0
    for _ in range(12):
        (a, truth_a), (b, truth_b) = _number(digits, 4, rng), _number(digits, 3, rng)
        response = _post(starter_client, route, a, b)
        assert response.status_code == 200
        body = response.json()
        assert body["model"]["kind"] == "reader"
        read_a, read_b = int(body["a"]["value"]), int(body["b"]["value"])
        assert body["result_text"] == str(body["result"])
        if route == "multiply":  # the product of the most probable readings
            assert body["result"] == read_a * read_b
        right += body["result"] == operator(int(truth_a), int(truth_b))
    assert right >= 9


def test_a_sum_of_long_numbers_is_an_exact_integer(starter_client, digits) -> None:
    rng = np.random.default_rng(11)
    (a, _), (b, _) = _number(digits, 40, rng), _number(digits, 40, rng)
    response = _post(starter_client, "add", a, b)
    assert response.status_code == 200
    body = json.loads(response.text)  # Python's json keeps big integers exact
    assert len(body["a"]["digits"]) == 40 and len(body["b"]["digits"]) == 40
    assert body["result_text"] == str(body["result"])
    # with confident readings the most probable sum is the sum of the readings
    if min(d["confidence"] for d in body["a"]["digits"] + body["b"]["digits"]) > 0.9:
        assert body["result"] == int(body["a"]["value"]) + int(body["b"]["value"])
    assert body["parts"] is None


def test_compare_orders_multi_digit_numbers(starter_client, digits) -> None:
    rng = np.random.default_rng(13)
    right = 0
    for _ in range(12):
        (a, truth_a), (b, truth_b) = _number(digits, 3, rng), _number(digits, 3, rng)
        body = _post(starter_client, "compare", a, b).json()
        assert body["result"] == (body["probability"] > 0.5)
        assert 0.0 <= body["equal_probability"] <= 1.0 - body["probability"] + 1e-9
        right += body["result"] == (int(truth_a) > int(truth_b))
    assert right >= 10


def test_single_digits_are_answered_by_the_more_accurate_model(starter_client, digits):
    metrics = {
        m["name"]: next(v["metrics"] for v in m["versions"] if v["version"] == m["active"])
        for m in starter_client.get("/models").json()
    }
    images, labels = digits
    a, b = image_bytes(images[0]), image_bytes(images[1])
    for route in ("add", "multiply", "compare"):
        head = metrics[route]["test_accuracy"]
        reader = metrics["reader"][f"{route}_accuracy"]
        body = _post(starter_client, route, a, b).json()
        assert body["model"]["name"] == (route if head > reader else "reader")
        assert body["a"]["value"] == str(labels[0]) and body["b"]["value"] == str(labels[1])
        for name in (route, "reader"):  # either can be asked for by name
            assert _post(starter_client, route, a, b, model=name).json()["model"]["name"] == name


def test_a_head_refuses_numbers_of_several_digits(starter_client, digits) -> None:
    rng = np.random.default_rng(17)
    (a, _), (b, _) = _number(digits, 3, rng), _number(digits, 1, rng)
    response = _post(starter_client, "add", a, b, model="add")
    assert response.status_code == 422
    assert "reads single digits" in response.json()["detail"]
    assert "model=reader" in response.json()["detail"]


def test_the_reader_classifies_single_digits(starter_client, digits) -> None:
    images, labels = digits
    files = [("images", image_bytes(image)) for image in images[:50]]
    answers = starter_client.post("/classify", params={"model": "reader"}, files=files).json()
    assert np.mean([a["digit"] == label for a, label in zip(answers, labels, strict=False)]) > 0.95


def test_bad_numbers_get_clear_errors(starter_client, digits) -> None:
    images, _labels = digits
    blank = image_bytes(np.full((50, 200), 255))
    response = starter_client.post("/read", files={"image": ("blank.png", blank)})
    assert response.status_code == 422
    assert "blank" in response.json()["detail"] and "blank.png" in response.json()["detail"]

    too_long = render.render(list(images[:61]), np.random.default_rng(0), STYLE).png()
    response = _post(starter_client, "add", too_long, image_bytes(images[0]))
    assert response.status_code == 422
    assert "61 digits, over the limit of 60" in response.json()["detail"]
    assert "'a'" in response.json()["detail"]

    huge = image_bytes(np.full((6000, 8000), 255))  # 48 megapixels of paper, a small PNG
    response = starter_client.post("/read", files={"image": huge})
    assert response.status_code == 413
    assert "over the limit of 40 megapixels" in response.json()["detail"]


def test_a_drawing_is_read_as_best_it_can_be(starter_client) -> None:
    from PIL import Image, ImageDraw

    paper = Image.new("L", (240, 120), 255)
    draw = ImageDraw.Draw(paper)
    draw.rectangle([20, 20, 100, 100], outline=0, width=6)
    draw.line([(130, 100), (170, 20), (210, 100)], fill=0, width=6)
    response = starter_client.post("/read", files={"image": image_bytes(np.asarray(paper))})
    assert response.status_code == 200
    assert 1 <= len(response.json()["digits"]) <= 3


def test_small_touching_numbers_are_cut_with_the_readers_judgement(starter_client, digits):
    """A small upload is cut on the event loop; one whose digits touch needs the reader to
    judge where to split, which happens in the thread pool: both give the cut that
    `cut_number` makes with that judge."""
    from models.numbers.cut import cut_number

    reader = starter_client.app.state.server.get("reader").model

    def judge(images: np.ndarray) -> np.ndarray:
        return reader.run("classify", image=images)["probabilities"].max(axis=1)

    images, _labels = digits
    rng = np.random.default_rng(11)
    split_by_judgement = 0
    for _ in range(12):
        drawn = render.render(list(images[rng.integers(0, len(images), 4)]), rng, render.TOUCHING)
        png = drawn.png()
        assert len(png) < 64 * 1024  # small enough to be cut on the event loop first
        expected = cut_number(png, judge=judge)
        body = starter_client.post("/read", files={"image": png}).json()
        boxes = [tuple(d["box"][k] for k in ("x", "y", "width", "height")) for d in body["digits"]]
        assert boxes == [tuple(d.box) for d in expected]
        split_by_judgement += len(cut_number(png)) != len(expected)
    assert split_by_judgement >= 1  # the judge changed at least one cut
