"""The fast lane answers the plain requests of /classify, /add, /multiply and /compare
exactly as the routes do, and leaves every other request, good or bad, to the route."""

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.api import fast_lane
from app.api.fast_lane import file_parts
from app.main import create_app
from app.settings import ApiSettings
from tests.helpers import image_bytes


def _encoded(files: dict, data: dict | None = None) -> tuple[bytes, bytes]:
    """A body and its content type, as httpx (a real client) writes them."""
    request = httpx.Request("POST", "http://api/classify", files=files, data=data)
    return request.read(), request.headers["content-type"].encode()


def single_file(body: bytes, content_type: bytes, field: bytes) -> bytes | None:
    parts = file_parts(body, content_type)
    return parts[field][1] if parts is not None and set(parts) == {field} else None


def test_the_files_of_a_body_are_taken_out_as_they_were_sent():
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"\r\n--not-the-boundary\r\n"
    body, content_type = _encoded({"image": ("seven.png", png, "image/png")})
    assert file_parts(body, content_type) == {b"image": (b"seven.png", png)}
    body, content_type = _encoded({"a": ("3.png", b"three"), "b": ("4.png", png)})
    assert file_parts(body, content_type) == {b"a": (b"3.png", b"three"), b"b": (b"4.png", png)}


@pytest.mark.parametrize(
    "files, data",
    [
        ([("images", ("a.png", b"a")), ("images", ("b.png", b"b"))], None),  # repeated
        ({"image": ("a.png", b"a")}, {"model": "classifier"}),  # a form field too
    ],
)
def test_any_other_body_is_not_taken(files, data):
    body, content_type = _encoded(files, data)
    assert file_parts(body, content_type) is None


def test_unusual_parts_are_not_taken():
    body, content_type = _encoded({"image": ("a.png", b"abc", "image/png")})
    boundary = content_type.split(b"boundary=")[1]
    assert single_file(body, b"text/plain", b"image") is None
    assert single_file(body, b"multipart/form-data", b"image") is None  # no boundary
    assert single_file(b"preamble\r\n" + body, content_type, b"image") is None
    assert single_file(body[:-4], content_type, b"image") is None  # no closing delimiter
    assert single_file(body + b"epilogue", content_type, b"image") is None
    plain_value = body.replace(b'; filename="a.png"', b"")
    assert single_file(plain_value, content_type, b"image") is None
    encoded_name = body.replace(b'filename="a.png"', b"filename*=utf-8''a.png")
    assert single_file(encoded_name, content_type, b"image") is None
    extra_header = body.replace(b"Content-Type: image/png", b"X-Other: 1")
    assert single_file(extra_header, content_type, b"image") is None
    quoted = content_type.replace(boundary, b'"' + boundary + b'"')
    assert single_file(body, quoted, b"image") == b"abc"


@pytest.fixture(scope="module")
def both(trained_root):
    """The API with the fast lane (as shipped) and without it, over the same store."""
    with (
        TestClient(create_app(ApiSettings(artifact_root=trained_root))) as lane,
        TestClient(create_app(ApiSettings(artifact_root=trained_root, fast_lane=False))) as route,
    ):
        yield lane, route


@pytest.fixture()
def lane_answers(monkeypatch):
    """How many requests the fast lane answered itself."""
    answered = []
    real = fast_lane._answer

    async def counted(*arguments):
        answer = await real(*arguments)
        answered.append(answer is not None)
        return answer

    monkeypatch.setattr(fast_lane, "_answer", counted)
    return answered


def test_plain_requests_get_the_routes_bytes_from_the_lane(both, digits, lane_answers):
    lane, route = both
    images, labels = digits
    for index in range(8):
        for query in ("", "?model=classifier", "?model=reader"):
            files = {"image": ("digit.png", image_bytes(images[index]), "image/png")}
            ours, theirs = (c.post(f"/classify{query}", files=files) for c in (lane, route))
            assert ours.status_code == theirs.status_code == 200
            assert ours.content == theirs.content
            assert ours.headers["content-type"] == theirs.headers["content-type"]
            assert ours.json()["model"]["name"] == (query.partition("=")[2] or "classifier")
    assert lane_answers == [True] * 24
    digits_read = [lane.post("/classify", files={"image": image_bytes(images[i])}).json()["digit"]
                   for i in range(50)]  # fmt: skip
    assert sum(d == label for d, label in zip(digits_read, labels[:50], strict=True)) >= 45


@pytest.mark.parametrize(
    "query, files, status",
    [
        ("?model=nothing-here", "good", 404),
        ("?model=autoencoder", "good", 422),
        ("?model=Not_A_Name", "good", 422),
        ("?model=classifier&model=reader", "good", 200),
        ("?other=1", "good", 200),
        ("", "not-an-image", 422),
        ("", "empty", 422),
        ("", "wrong-field", 422),
        ("", "batch", 200),
    ],
)
def test_everything_else_is_the_routes_answer(both, digits, lane_answers, query, files, status):
    lane, route = both
    good = image_bytes(digits[0][0])
    uploads = {
        "good": {"image": ("d.png", good)},
        "not-an-image": {"image": ("d.png", b"this is text, not a picture")},
        "empty": {"image": ("d.png", b"")},
        "wrong-field": {"file": ("d.png", good)},
        "batch": [("images", ("a.png", good)), ("images", ("b.png", good))],
    }[files]
    ours, theirs = (c.post(f"/classify{query}", files=uploads) for c in (lane, route))
    assert ours.status_code == theirs.status_code == status
    assert ours.json() == theirs.json()
    assert not any(lane_answers)  # tried perhaps, but left to the route


def test_a_lane_answer_keeps_its_request_id_and_is_counted(both, digits):
    lane, _ = both

    def served() -> float:
        for line in lane.get("/metrics").text.splitlines():
            if line.startswith("handcalc_requests_total{") and 'route="/classify"' in line \
                    and 'status="200"' in line:  # fmt: skip
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = served()
    response = lane.post(
        "/classify",
        files={"image": ("d.png", image_bytes(digits[0][0]))},
        headers={"X-Request-ID": "lane-check-1"},
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "lane-check-1"
    assert served() == before + 1


@pytest.mark.parametrize("route", ["add", "multiply", "compare"])
def test_plain_pairs_get_the_routes_bytes_from_the_lane(both, digits, lane_answers, route):
    lane, other = both
    images, _ = digits
    queries = ("", "?model=reader", f"?model={route}")
    for index in range(4):
        files = {
            "a": ("a.png", image_bytes(images[index]), "image/png"),
            "b": ("b.png", image_bytes(images[index + 10]), "image/png"),
        }
        for query in queries:
            ours, theirs = (c.post(f"/{route}{query}", files=files) for c in (lane, other))
            assert ours.status_code == theirs.status_code == 200, ours.text
            assert ours.content == theirs.content
    assert lane_answers == [True] * (4 * len(queries))


def test_pairs_the_route_refuses_are_its_own_answers(both, digits, lane_answers):
    lane, other = both
    images, _ = digits
    seven, two_digits = image_bytes(images[0]), image_bytes(np.hstack([images[1], images[2]]))
    cases = [
        ("/add?model=add", {"a": ("a.png", two_digits), "b": ("b.png", seven)}, 422),
        ("/add", {"a": ("a.png", seven)}, 422),  # no b: not even tried
        ("/add", {"a": ("a.png", seven), "b": ("b.png", b"not an image")}, 422),
        ("/compare?model=classifier", {"a": ("a.png", seven), "b": ("b.png", seven)}, 422),
    ]
    for path, files, status in cases:
        ours, theirs = (c.post(path, files=files) for c in (lane, other))
        assert ours.status_code == theirs.status_code == status, (path, ours.text)
        assert ours.json() == theirs.json()
    assert lane_answers == [False, False, False]  # the route refused what was tried
