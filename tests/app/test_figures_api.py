"""The pictures of each version over HTTP: listed by GET /models, served immutable by name."""

from __future__ import annotations

import hashlib
import io

from PIL import Image

from models.kinds import get_kind

FIGURE = "/models/classifier/versions/1/figures/confusion-matrix.png"


def test_models_lists_each_versions_figures(client):
    models = {model["name"]: model for model in client.get("/models").json()}
    for name, model in models.items():
        (version,) = model["versions"]
        assert version["figures"] == list(get_kind(model["kind"]).figures), name
    assert "latent-map" in models["vae"]["versions"][0]["figures"]


def test_a_figure_is_an_immutable_png_named_by_its_digest(client, trained_root):
    response = client.get(FIGURE)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    stored = trained_root / "classifier" / "1" / "figures" / "confusion-matrix.png"
    assert response.content == stored.read_bytes()
    etag = response.headers["etag"]
    assert etag == f'"{hashlib.sha256(response.content).hexdigest()}"'  # strong: no W/
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.format == "PNG" and image.size[0] > 200

    for held in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = client.get(FIGURE, headers={"If-None-Match": held})
        assert again.status_code == 304, held
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert client.get(FIGURE, headers={"If-None-Match": '"other"'}).status_code == 200


def test_what_is_not_there_is_a_404_that_says_what_is(client):
    unknown = client.get("/models/classifier/versions/1/figures/latent-map.png")
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == (
        "classifier v1 has no figure 'latent-map'; its figures are: "
        "training-curves, confusion-matrix, mistakes, first-layer"
    )
    version = client.get("/models/classifier/versions/7/figures/mistakes.png")
    assert version.status_code == 404
    assert version.json()["detail"] == "model 'classifier' has no version 7; its versions are: 1"
    name = client.get("/models/nope/versions/1/figures/mistakes.png")
    assert name.status_code == 404
    assert "no model named 'nope'; the names are: add, autoencoder" in name.json()["detail"]
    # only files the manifest lists as figures are served
    assert client.get("/models/classifier/versions/1/figures/..%2Fmodel.png").status_code == 404
    assert client.get("/models/classifier/versions/1/figures/model.keras").status_code == 404
    bad = client.get("/models/classifier/versions/01/figures/mistakes.png")
    assert bad.status_code == 422


def test_a_version_without_figures_and_an_altered_figure(private_store, private_client, tmp_path):
    empty = tmp_path / "none"
    empty.mkdir()
    private_store.replace_figures("vae", 1, empty, [])  # as versions from before figures
    missing = private_client.get("/models/vae/versions/1/figures/samples.png")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "vae v1 has no figure 'samples'; it has no figures"
    assert private_client.get("/models").json()[-1]["versions"][0]["figures"] == []

    figure = private_store.root / "classifier" / "1" / "figures" / "mistakes.png"
    figure.write_bytes(figure.read_bytes()[:-10])
    altered = private_client.get("/models/classifier/versions/1/figures/mistakes.png")
    assert altered.status_code == 409
    assert "does not match its digest" in altered.json()["detail"]


def test_openapi_documents_the_figure_route(client):
    spec = client.get("/openapi.json").json()
    route = spec["paths"]["/models/{name}/versions/{version}/figures/{figure}.png"]["get"]
    assert set(route["responses"]) >= {"200", "304", "404"}
    assert "image/png" in route["responses"]["200"]["content"]
    assert "figures" in spec["components"]["schemas"]["VersionInfo"]["properties"]
