"""POST /preprocess (the image the models receive) and GET /job-schema (for forms)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from tests.helpers import image_bytes


def test_preprocess_as_png_and_as_pixels(client, digits):
    png = image_bytes(digits[0][0])
    picture = client.post("/preprocess?scale=4", files={"image": png})
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(picture.content)).size == (112, 112)
    pixels = client.post(
        "/preprocess", files={"image": png}, headers={"Accept": "application/json"}
    ).json()["pixels"]
    assert np.asarray(pixels).shape == (28, 28)
    assert client.post("/preprocess?scale=999", files={"image": png}).status_code == 422
    refused = client.post("/preprocess", files={"image": ("a.txt", b"text", "text/plain")})
    assert refused.status_code == 422 and "not an image" in refused.json()["detail"]


def test_job_schema_has_every_kind_and_needs_no_token(client):
    schema = client.get("/job-schema").json()
    assert "model" in schema["job"]["properties"]
    assert schema["kinds"]["classifier"]["params"]["properties"]["epochs"]["default"] == 15
    assert schema["defaults"]["classifier-dense"] == "classifier"


def test_the_page_is_served_with_its_policy_and_left_out_of_the_schema(client):
    page = client.get("/")
    assert page.status_code == 200 and "<canvas" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static/app.js").status_code == 200
    assert "/" not in client.get("/openapi.json").json()["paths"]
