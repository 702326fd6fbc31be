"""The job routes' contract: auth, validation, unknown ids. Jobs are queued on the embedded
broker in a temp folder; the end-to-end runs with a worker are in tests/worker."""

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import ApiSettings

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture()
def jobs_client(trained_root, tmp_path):
    settings = ApiSettings(artifact_root=trained_root, state_dir=tmp_path, api_token=TOKEN)
    with TestClient(create_app(settings)) as client:
        yield client


def test_submit_queues_a_job_and_lists_it(jobs_client):
    response = jobs_client.post(
        "/jobs", json={"model": "add", "params": {"pairs": 5000}}, headers=AUTH
    )
    assert response.status_code == 202
    job_id = response.json()["id"]
    assert response.json()["status_url"] == f"/jobs/{job_id}"
    job = jobs_client.get(f"/jobs/{job_id}", headers=AUTH).json()
    assert job["state"] == "queued"
    assert job["spec"]["params"]["pairs"] == 5000 and job["spec"]["params"]["epochs"] == 10
    assert job["progress"] == {"epoch": 0, "epochs": 10, "fraction": 0.0}
    assert [j["id"] for j in jobs_client.get("/jobs", headers=AUTH).json()] == [job_id]
    cancelled = jobs_client.delete(f"/jobs/{job_id}", headers=AUTH)
    assert cancelled.status_code == 202 and cancelled.json()["state"] == "cancelled"
    assert cancelled.json()["error"] == "cancelled while queued; it never ran"
    again = jobs_client.delete(f"/jobs/{job_id}", headers=AUTH)
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]


@pytest.mark.parametrize(
    ("spec", "detail"),
    [
        ({"model": "divide"}, "body.model: Input should be 'autoencoder', 'classifier'"),
        (
            {"model": "classifier", "params": {"epochs": 0}},
            "params.epochs: Input should be greater",
        ),
        (
            {"model": "classifier", "params": {"epochs": 1_000_000}},
            "params.epochs: Input should be less",
        ),
        (
            {"model": "classifier", "params": {"epochs": "many"}},
            "params.epochs: Input should be a valid integer",
        ),
        ({"model": "autoencoder", "params": {"latent_dim": 0}}, "params.latent_dim"),
        ({"model": "add", "params": {"pairs": 10}}, "params.pairs: Input should be greater"),
        ({"model": "classifier", "params": {"colour": "red"}}, "params.colour: Extra inputs"),
        ({"model": "classifier", "priority": 1}, "body.priority: Extra inputs are not permitted"),
        ({"model": "classifier", "encoder_version": 1}, "encoder_version applies to the heads"),
        ({"model": "add", "encoder_version": 0}, "body.encoder_version: Input should be greater"),
        ({"model": "classifier", "reader_version": 1}, "reader_version applies to the heads"),
        (
            {"model": "multiply", "encoder_version": 1},
            "this head reads with the add head's reader (reader_version picks its version)",
        ),
        ({"model": "add", "reader_version": 1}, "reader_version applies when params.reader"),
        ({"model": "compare", "params": {"reader": "digits"}}, "params.reader: Input should be"),
        ({"params": {}}, "body.model: Field required"),
    ],
)
def test_bad_job_specs_are_422(jobs_client, spec, detail):
    response = jobs_client.post("/jobs", json=spec, headers=AUTH)
    assert response.status_code == 422
    assert detail in response.json()["detail"]


def test_unknown_jobs_are_404(jobs_client):
    for job_id in ["0" * 32, "not-a-job", "a" * 500]:
        response = jobs_client.get(f"/jobs/{job_id}", headers=AUTH)
        assert response.status_code == 404 and "no job with id" in response.json()["detail"]
        assert jobs_client.delete(f"/jobs/{job_id}", headers=AUTH).status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/jobs"),
        ("get", "/jobs"),
        ("get", "/jobs/" + "0" * 32),
        ("delete", "/jobs/" + "0" * 32),
        ("post", "/models/classifier/versions/1/activate"),
        ("delete", "/models/classifier/versions/1"),
    ],
)
def test_training_and_management_need_the_token(jobs_client, trained_root, tmp_path, method, path):
    kwargs = {"json": {"model": "classifier"}} if path == "/jobs" and method == "post" else {}
    missing = jobs_client.request(method, path, **kwargs)
    assert missing.status_code == 401 and "missing token" in missing.json()["detail"]
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = jobs_client.request(method, path, headers={"Authorization": "Bearer nope"}, **kwargs)
    assert wrong.status_code == 401 and wrong.json()["detail"] == "wrong token"
    basic = jobs_client.request(method, path, headers={"Authorization": "Basic abc"}, **kwargs)
    assert basic.status_code == 401

    unconfigured = ApiSettings(artifact_root=trained_root, state_dir=tmp_path / "other")
    with TestClient(create_app(unconfigured)) as client:
        response = client.request(method, path, headers=AUTH, **kwargs)
        assert response.status_code == 403
        assert "set HANDCALC_API_TOKEN" in response.json()["detail"]


def test_inference_stays_open_with_a_token_set(jobs_client):
    assert jobs_client.get("/models").status_code == 200
    assert jobs_client.get("/readyz").status_code == 200
