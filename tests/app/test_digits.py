import io

import numpy as np
from PIL import Image

from tests.helpers import image_bytes

COUNT = 100


def _upload(image, name="digit.png"):
    return (name, image_bytes(image), "image/png")


def test_classify_one_image(client, digits):
    x, y = digits
    response = client.post("/classify", files={"image": _upload(x[0])})
    assert response.status_code == 200
    body = response.json()
    assert body["digit"] == y[0] == 7
    assert len(body["probabilities"]) == 10
    assert abs(sum(body["probabilities"]) - 1.0) < 1e-4
    assert body["model"] == {"name": "classifier", "version": 1, "kind": "classifier"}


def test_classify_batch_keeps_order_and_reads_most_digits(client, digits):
    x, y = digits
    files = [("images", _upload(image, f"{i}.png")) for i, image in enumerate(x[:COUNT])]
    response = client.post("/classify", files=files)
    assert response.status_code == 200
    answers = [answer["digit"] for answer in response.json()]
    assert len(answers) == COUNT
    assert np.mean(np.array(answers) == y[:COUNT]) >= 0.9
    # the batch answers equal the one-by-one answers, in order
    for index in (0, 17, 63):
        single = client.post("/classify", files={"image": _upload(x[index])}).json()
        assert single["digit"] == answers[index]


def test_encode_then_decode_gives_back_the_digit(client, digits):
    x, _ = digits
    errors = []
    for image in x[:20]:
        encoded = client.post("/encode", files={"image": _upload(image)})
        assert encoded.status_code == 200
        body = encoded.json()
        assert len(body["latent"]) == 32 and body["model"] == {
            "name": "autoencoder",
            "version": 1,
            "kind": "autoencoder",
        }
        assert all(0.0 <= value <= 1.0 for value in body["latent"])
        decoded = client.post(
            "/decode", json={"latent": body["latent"]}, headers={"Accept": "application/json"}
        )
        assert decoded.status_code == 200
        pixels = np.array(decoded.json()["pixels"])
        assert pixels.shape == (28, 28)
        errors.append(np.mean((pixels - image / 255.0) ** 2))
    assert np.mean(errors) < 0.06
    # a reconstruction is much closer to its own digit than to another one
    other = np.mean((pixels - x[0] / 255.0) ** 2)
    assert errors[-1] < other


def test_decode_returns_a_png_by_default(client, digits):
    latent = client.post("/encode", files={"image": _upload(digits[0][3])}).json()["latent"]
    response = client.post("/decode?scale=4", json={"latent": latent})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-model-name"] == "autoencoder"
    assert response.headers["x-model-version"] == "1"
    picture = Image.open(io.BytesIO(response.content))
    assert picture.size == (112, 112) and picture.mode == "L"
    plain = Image.open(io.BytesIO(client.post("/decode", json={"latent": latent}).content))
    assert plain.size == (28, 28)
    assert np.array_equal(np.asarray(picture)[::4, ::4], np.asarray(plain))
