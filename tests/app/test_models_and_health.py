import gc

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import ApiSettings
from tests.helpers import image_bytes

# every name the test store holds (tests/conftest.py), in the order /models lists them
SERVED_NAMES = [
    "add",
    "autoencoder",
    "classifier",
    "classifier-dense",
    "compare",
    "few-label",
    "multiply",
    "reader",
    "vae",
]


def test_models_lists_versions_metrics_and_lineage(client):
    response = client.get("/models")
    assert response.status_code == 200
    models = {model["name"]: model for model in response.json()}
    assert list(models) == SERVED_NAMES
    assert models["classifier-dense"]["kind"] == "classifier"
    assert models["classifier"]["active"] == models["classifier"]["serving"] == 1
    (version,) = models["classifier"]["versions"]
    assert version["metrics"]["test_accuracy"] > 0.9
    assert version["params"]["epochs"] == 5
    assert models["add"]["versions"][0]["lineage"] == {"autoencoder": 1}


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "models": dict.fromkeys(SERVED_NAMES, 1),
        "jobs": "available",  # the embedded broker: files under the state folder
    }


def test_an_empty_store_answers_503_saying_how_to_train(tmp_path, digits):
    settings = ApiSettings(artifact_root=tmp_path, starter_dir=None)
    with TestClient(create_app(settings)) as empty:
        assert empty.get("/healthz").status_code == 200
        ready = empty.get("/readyz")
        assert ready.status_code == 503
        assert "autoencoder (never trained)" in ready.json()["detail"]
        response = empty.post("/classify", files={"image": image_bytes(digits[0][0])})
        assert response.status_code == 503
        assert "python -m models.train classifier" in response.json()["detail"]
        assert empty.get("/models").json()[0]["versions"] == []


def test_a_running_app_keeps_its_loaded_models_out_of_full_collections(trained_root):
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    with TestClient(create_app(ApiSettings(artifact_root=trained_root))) as running:
        assert running.get("/readyz").status_code == 200
        assert gc.get_freeze_count() > 10_000  # the app, its routes and its models
    assert gc.get_freeze_count() == 0  # given back to the collector at shutdown


def test_openapi_documents_every_route_with_examples(client):
    spec = client.get("/openapi.json").json()
    for path in ["/classify", "/encode", "/decode", "/read", "/add", "/multiply", "/compare"]:
        assert "post" in spec["paths"][path]
    for path in ["/models", "/healthz", "/readyz"]:
        assert "get" in spec["paths"][path]
    schemas = spec["components"]["schemas"]
    for name in [
        "Classification",
        "Encoding",
        "ArithmeticResult",
        "Comparison",
        "Read",
        "ModelInfo",
    ]:
        assert schemas[name].get("examples"), name
    assert "image/png" in spec["paths"]["/decode"]["post"]["responses"]["200"]["content"]


def test_the_benchmark_route_exists_only_when_enabled(client, trained_root, tmp_path, digits):
    assert (
        client.post("/bench/floor", files={"image": image_bytes(digits[0][0])}).status_code == 404
    )
    settings = ApiSettings(artifact_root=trained_root, bench_routes=True)
    with TestClient(create_app(settings)) as bench_client:
        response = bench_client.post("/bench/floor", files={"image": image_bytes(digits[0][0])})
        assert response.status_code == 200
        assert abs(response.json()["ink"] - digits[0][0].sum() / 255.0) < 1e-2
