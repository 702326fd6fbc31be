import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import ApiSettings
from tests.helpers import image_bytes, noise_png

WHITE = image_bytes(np.full((50, 50), 255, np.uint8))
HUGE_PIXELS = image_bytes(np.zeros((7000, 7000), np.uint8))  # 49 megapixels, small file


@pytest.mark.parametrize(
    ("files", "status", "detail"),
    [
        (
            {"image": ("a.png", b"", "image/png")},
            422,
            "'image' (a.png): the uploaded file is empty",
        ),
        ({"image": ("a.txt", b"just some text", "text/plain")}, 422, "is not an image"),
        ({"image": ("a.png", noise_png()[:400], "image/png")}, 422, "corrupt"),
        ({"image": ("a.png", WHITE, "image/png")}, 422, "the image is blank"),
        ({"image": ("big.png", HUGE_PIXELS, "image/png")}, 413, "7000x7000 pixels"),
        ({"picture": ("a.png", WHITE, "image/png")}, 422, "send one image in the multipart field"),
    ],
    ids=["empty", "text", "truncated", "blank", "too_many_pixels", "wrong_field"],
)
def test_bad_uploads_to_classify(client, files, status, detail):
    response = client.post("/classify", files=files)
    assert response.status_code == status
    assert detail in response.json()["detail"]


def test_missing_body_and_both_fields(client, digits):
    assert client.post("/classify").status_code == 422
    png = image_bytes(digits[0][0])
    both = client.post("/classify", files=[("image", png), ("images", png)])
    assert both.status_code == 422 and "not both" in both.json()["detail"]


def test_bad_image_in_a_batch_is_named(client, digits):
    files = [("images", ("ok.png", image_bytes(digits[0][0]), "image/png"))] * 2
    files.append(("images", ("bad.png", b"nope", "image/png")))
    response = client.post("/classify", files=files)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("'images[2]' (bad.png): the uploaded file is not")


def test_upload_size_limit(trained_root, digits):
    settings = ApiSettings(artifact_root=trained_root, max_upload_bytes=2048, max_batch_images=2)
    with TestClient(create_app(settings)) as small:
        big = image_bytes(np.random.default_rng(0).integers(0, 255, (100, 100), dtype=np.uint8))
        response = small.post("/classify", files={"image": ("big.png", big, "image/png")})
        assert response.status_code == 413
        assert "over the upload limit of 2,048 bytes" in response.json()["detail"]
        png = image_bytes(digits[0][0])
        response = small.post("/classify", files=[("images", png)] * 3)
        assert response.status_code == 413 and "the limit is 2" in response.json()["detail"]


@pytest.mark.parametrize("route", ["add", "multiply", "compare"])
def test_arithmetic_needs_two_images(client, digits, route):
    png = image_bytes(digits[0][0])
    missing = client.post(f"/{route}", files={"a": png})
    assert missing.status_code == 422
    assert missing.json()["detail"] == (
        "body.b: Field required (send it as the multipart or JSON field 'b')"
    )
    blank = client.post(f"/{route}", files={"a": png, "b": WHITE})
    assert blank.status_code == 422 and blank.json()["detail"].startswith("'b'")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"latent": [0.5] * 31}, "latent has 31 values; expected 32 finite numbers"),
        ({"latent": [0.5] * 33}, "latent has 33 values"),
        ({"latent": [0.5] * 31 + [40.0]}, "latent value 40 at index 31 is far outside the range"),
        ({"latent": [0.5] * 31 + [-3.0]}, "far outside the range"),
        ({"latent": "zeros"}, "body.latent: Input should be a valid list"),
        ({"latent": [0.5] * 31 + ["x"]}, "body.latent.31: Input should be a valid number"),
        ({"vector": [0.5] * 32}, "body.latent: Field required"),
    ],
)
def test_bad_latents(client, body, detail):
    response = client.post("/decode", json=body)
    assert response.status_code == 422
    assert detail in response.json()["detail"]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_latents(client, token):
    raw = "[" + ", ".join(["0.5"] * 10 + [token] + ["0.5"] * 21) + "]"
    response = client.post(
        "/decode", content=f'{{"latent": {raw}}}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "NaN or infinity at index 10" in response.json()["detail"]


def test_decode_scale_limits(client):
    response = client.post("/decode?scale=1000", json={"latent": [0.5] * 32})
    assert response.status_code == 422 and "over the limit of 16" in response.json()["detail"]
    response = client.post("/decode?scale=0", json={"latent": [0.5] * 32})
    assert response.status_code == 422 and "query.scale" in response.json()["detail"]


def test_broken_json(client):
    response = client.post(
        "/decode", content=b'{"latent": [0.5,', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "JSON decode error" in response.json()["detail"]


def test_wrong_method_lists_every_allowed_method(client):
    response = client.put("/jobs")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"
    assert response.json() == {"detail": "Method Not Allowed"}


def test_json_types_are_taken_as_the_schema_says(client):
    response = client.post("/generate", json={"temperature": True})
    assert response.status_code == 422 and "temperature" in response.json()["detail"]
