import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import ApiSettings
from tests.app.conftest import republish

TOKEN = "management-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture()
def admin(private_store, tmp_path):
    settings = ApiSettings(
        artifact_root=private_store.root,
        state_dir=tmp_path / "state",
        api_token=TOKEN,
        reload_interval_s=0.1,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_activate_promotes_and_rolls_back(admin, private_store):
    republish(private_store, "classifier")
    response = admin.post("/models/classifier/versions/2/activate", headers=AUTH)
    assert response.status_code == 200
    assert response.json()["active"] == 2
    assert [v["version"] for v in response.json()["versions"]] == [1, 2]
    assert private_store.active_version("classifier") == 2
    response = admin.post("/models/classifier/versions/1/activate", headers=AUTH)
    assert response.status_code == 200 and private_store.active_version("classifier") == 1


@pytest.mark.parametrize(
    ("path", "status", "detail"),
    [
        ("/models/classifier/versions/9/activate", 404, "model 'classifier' has no version 9"),
        ("/models/divide/versions/1/activate", 404, "no model named 'divide'"),
        ("/models/classifier/versions/0/activate", 422, "invalid version '0'"),
        ("/models/classifier/versions/latest/activate", 422, "invalid version 'latest'"),
    ],
)
def test_activate_errors(admin, path, status, detail):
    response = admin.post(path, headers=AUTH)
    assert response.status_code == status
    assert detail in response.json()["detail"]


def test_activating_a_corrupt_version_is_refused(admin, private_store):
    republish(private_store, "classifier")
    (private_store.root / "classifier" / "2" / "model.tflite").write_bytes(b"tampered")
    response = admin.post("/models/classifier/versions/2/activate", headers=AUTH)
    assert response.status_code == 409
    assert "does not match its digest" in response.json()["detail"]
    assert private_store.active_version("classifier") == 1


def test_delete_rules(admin, private_store):
    republish(private_store, "autoencoder")
    active = admin.delete("/models/autoencoder/versions/1", headers=AUTH)
    assert active.status_code == 409
    assert "autoencoder v1 is the active version" in active.json()["detail"]
    admin.post("/models/autoencoder/versions/2/activate", headers=AUTH)
    in_lineage = admin.delete("/models/autoencoder/versions/1", headers=AUTH)
    assert in_lineage.status_code == 409
    assert "in the lineage of add v1, compare v1, multiply v1" in in_lineage.json()["detail"]
    republish(private_store, "classifier")
    assert admin.delete("/models/classifier/versions/2", headers=AUTH).status_code == 204
    assert [v.version for v in private_store.versions("classifier")] == [1]
    gone = admin.delete("/models/classifier/versions/2", headers=AUTH)
    assert gone.status_code == 404
