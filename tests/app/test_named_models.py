"""Named models over HTTP: ?model= on every route, the VAE's routes, and their refusals."""

import io

import numpy as np
import pytest
from PIL import Image

from tests.helpers import image_bytes


def _png(digits, index):
    return image_bytes(255 - digits[0][index])  # dark ink on light paper, as people write


def test_classify_answers_with_the_named_model(client, digits):
    images, labels = digits
    files = [("images", image_bytes(image)) for image in images[:40]]
    for name, kind in [("classifier-dense", "classifier"), ("few-label", "few-label")]:
        answers = client.post(f"/classify?model={name}", files=files).json()
        assert {answer["model"]["name"] for answer in answers} == {name}
        assert answers[0]["model"]["kind"] == kind
        correct = np.mean([a["digit"] == label for a, label in zip(answers, labels, strict=False)])
        assert correct > 0.6, (name, correct)  # chance is 0.1
    default = client.post("/classify", files={"image": _png(digits, 0)}).json()
    assert default["model"] == {"name": "classifier", "version": 1, "kind": "classifier"}


def test_the_vae_encodes_to_a_mean_and_a_log_variance_and_decodes_them(client, digits):
    encoded = client.post("/encode?model=vae", files={"image": _png(digits, 0)}).json()
    assert len(encoded["latent"]) == len(encoded["log_variance"]) == 8
    assert encoded["model"]["kind"] == "vae"
    plain = client.post("/encode", files={"image": _png(digits, 0)}).json()
    assert "log_variance" not in plain and plain["model"]["kind"] == "autoencoder"
    decoded = client.post(
        "/decode?model=vae",
        json={"latent": encoded["latent"]},
        headers={"Accept": "application/json"},
    ).json()
    pixels = np.asarray(decoded["pixels"])
    original = digits[0][0] / 255.0
    # the reconstruction is nearer its own digit than to another digit's image
    other = digits[0][int(np.flatnonzero(digits[1] != digits[1][0])[0])] / 255.0
    assert np.abs(pixels - original).mean() < np.abs(pixels - other).mean()


def test_generate_is_a_png_grid_by_default_and_the_same_for_the_same_seed(client):
    response = client.post("/generate", json={"count": 6, "seed": 3})
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.headers["x-model-kind"] == "vae"
    picture = Image.open(io.BytesIO(response.content))
    assert picture.size == (3 * 28 + 2 * 2, 2 * 28 + 2)  # 3 columns, 2 rows, 2-pixel gaps
    again = client.post("/generate", json={"count": 6, "seed": 3})
    assert again.content == response.content
    other = client.post("/generate", json={"count": 6, "seed": 4})
    assert other.content != response.content
    as_json = client.post(
        "/generate",
        json={"count": 2, "seed": 3, "temperature": 0.0},
        headers={"Accept": "application/json"},
    ).json()
    assert np.asarray(as_json["images"]).shape == (2, 28, 28)
    assert as_json["latents"] == [[0.0] * 8, [0.0] * 8]  # temperature 0: the prior's centre
    assert as_json["seed"] == 3 and as_json["model"]["name"] == "vae"


@pytest.mark.parametrize("method", ["linear", "spherical"])
def test_interpolate_walks_from_a_to_b(client, digits, method):
    files = {"a": _png(digits, 0), "b": _png(digits, 1)}
    walk = client.post(
        f"/interpolate?steps=5&method={method}", files=files, headers={"Accept": "application/json"}
    ).json()
    latents = np.asarray(walk["latents"])
    assert latents.shape == (5, 8)
    ends = [
        client.post("/encode?model=vae", files={"image": files[key]}).json()["latent"]
        for key in ("a", "b")
    ]
    np.testing.assert_allclose(latents[0], ends[0], atol=1e-5)
    np.testing.assert_allclose(latents[-1], ends[1], atol=1e-5)
    steps = np.linalg.norm(np.diff(latents, axis=0), axis=1)
    assert steps.max() < 1.5 * steps.min() + 1e-6  # evenly spaced along the walk
    strip = client.post(f"/interpolate?steps=5&method={method}&scale=2", files=files)
    assert Image.open(io.BytesIO(strip.content)).size == (2 * (5 * 28 + 4 * 2), 2 * 28)


@pytest.mark.parametrize(
    ("request_args", "status", "detail"),
    [
        (("post", "/generate", {"json": {"count": 0}}), 422, "body.count"),
        (("post", "/generate", {"json": {"count": 65}}), 422, "body.count"),
        (("post", "/generate", {"json": {"temperature": 2.5}}), 422, "body.temperature"),
        (("post", "/generate", {"json": {"seed": -1}}), 422, "body.seed"),
        (("post", "/generate", {"json": {"model": "autoencoder"}}), 422, "is of kind autoencoder"),
        (("post", "/generate", {"json": {"model": "nothing-here"}}), 404, "no model named"),
        (("post", "/generate", {"json": {"model": "Bad_Name"}}), 422, "body.model"),
        (("post", "/decode?model=vae", {"json": {"latent": [0.0] * 3}}), 422, "expected 8"),
        (("post", "/classify?model=vae", {}), 422, "cannot answer /classify"),
        (("post", "/add?model=compare", {}), 422, "is of kind compare, which cannot answer /add"),
        (("post", "/encode?model=ghost", {}), 404, "the models that answer /encode are"),
        (("post", "/encode?model=../etc", {}), 422, "query.model"),
    ],
)
def test_bad_generative_and_named_requests(client, digits, request_args, status, detail):
    method, url, options = request_args
    if "json" not in options:
        options = {"files": {"image": _png(digits, 0), "a": _png(digits, 0), "b": _png(digits, 1)}}
    response = getattr(client, method)(url, **options)
    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]


def test_interpolate_refuses_bad_steps(client, digits):
    files = {"a": _png(digits, 0), "b": _png(digits, 1)}
    for steps in (1, 33):
        response = client.post(f"/interpolate?steps={steps}", files=files)
        assert response.status_code == 422 and "query.steps" in response.json()["detail"]
    wrong = client.post("/interpolate?method=cubic", files=files)
    assert wrong.status_code == 422 and "query.method" in wrong.json()["detail"]


def test_models_lists_every_name_with_its_kind(client):
    listed = {info["name"]: info for info in client.get("/models").json()}
    assert listed["classifier-dense"]["kind"] == "classifier"
    assert listed["vae"]["kind"] == "vae" and listed["vae"]["serving"] == 1
    assert listed["few-label"]["versions"][0]["params"]["labels_per_class"] == 10
    ready = client.get("/readyz").json()
    assert set(ready["models"]) == set(listed)
