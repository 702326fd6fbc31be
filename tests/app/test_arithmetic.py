import numpy as np
import pytest

from tests.helpers import image_bytes

PAIRS = 60


def _pairs(digits):
    x, y = digits
    rng = np.random.default_rng(5)
    return [(x[i], y[i], x[j], y[j]) for i, j in rng.integers(0, len(x), size=(PAIRS, 2))]


def _read(client, image):
    return client.post("/classify", files={"image": image_bytes(image)}).json()["digit"]


@pytest.mark.parametrize(
    ("route", "operator", "floor"),
    [("add", np.add, 0.6), ("multiply", np.multiply, 0.6), ("compare", np.greater, 0.8)],
)
def test_heads_answer_real_pairs(client, digits, route, operator, floor):
    correct, counted = 0, 0
    for image_a, label_a, image_b, label_b in _pairs(digits):
        if _read(client, image_a) != label_a or _read(client, image_b) != label_b:
            continue  # judge the head on digits the classifier reads correctly
        response = client.post(
            f"/{route}",
            files={"a": image_bytes(image_a), "b": image_bytes(image_b)},
            params={"model": route},
        )
        assert response.status_code == 200
        body = response.json()
        assert body["model"] == {"name": route, "version": 1, "kind": route, "encoder_version": 1}
        counted += 1
        correct += body["result"] == operator(int(label_a), int(label_b))
    assert counted >= PAIRS * 0.8
    assert correct / counted >= floor


def test_add_reports_parts_and_confidence(client, digits):
    x, y = digits
    nine, eight = x[np.flatnonzero(y == 9)[0]], x[np.flatnonzero(y == 8)[0]]
    body = client.post("/add", files={"a": image_bytes(nine), "b": image_bytes(eight)}).json()
    assert 0.0 <= body["confidence"] <= 1.0
    assert 0 <= body["parts"]["units"] <= 9 and body["parts"]["tens"] in (0, 1)
    assert 0 <= body["result"] <= 18


def test_compare_answers_a_boolean_with_its_probability(client, digits):
    x, y = digits
    one, seven = x[np.flatnonzero(y == 1)[0]], x[np.flatnonzero(y == 7)[0]]
    forward = client.post("/compare", files={"a": image_bytes(seven), "b": image_bytes(one)})
    backward = client.post("/compare", files={"a": image_bytes(one), "b": image_bytes(seven)})
    assert forward.json()["result"] is True and forward.json()["probability"] > 0.5
    assert backward.json()["result"] is False and backward.json()["probability"] < 0.5
