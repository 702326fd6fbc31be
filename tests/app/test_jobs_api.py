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
        ({"model": "divide"}, "model 'divide' is new: say what it is with 'kind'"),
        ({"model": "Divide_2", "kind": "classifier"}, "body.model: String should match pattern"),
        ({"model": "x" * 41, "kind": "classifier"}, "body.model: String should match pattern"),
        ({"model": "-dash", "kind": "classifier"}, "body.model: String should match pattern"),
        ({"model": "divide", "kind": "divider"}, "unknown kind 'divider'; the kinds are"),
        (
            {"model": "add", "kind": "vae"},
            "model 'add' is of kind add; a vae version cannot be added",
        ),
        (
            {"model": "vae", "kind": "classifier"},
            "model 'vae' is of kind vae; a classifier version cannot",
        ),
        ({"model": "my-vae", "kind": "vae", "params": {"latent_dim": 1}}, "params.latent_dim"),
        (
            {"model": "few", "kind": "few-label", "params": {"labels_per_class": 0}},
            "params.labels_per_class",
        ),
        (
            {"model": "dense", "kind": "classifier", "params": {"architecture": "rnn"}},
            "params.architecture",
        ),
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
        (
            {"model": "classifier", "encoder_version": 1},
            "encoder_version applies to models that read with another",
        ),
        ({"model": "add", "encoder_version": 0}, "body.encoder_version: Input should be greater"),
        (
            {"model": "classifier", "reader_version": 1},
            "reader_version applies to models that read with another",
        ),
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


def test_a_job_creates_a_name_of_a_kind_and_extends_it_without_repeating_it(jobs_client):
    created = jobs_client.post(
        "/jobs",
        json={"model": "digits-dense", "kind": "classifier", "params": {"architecture": "dense"}},
        headers=AUTH,
    )
    assert created.status_code == 202
    spec = jobs_client.get(f"/jobs/{created.json()['id']}", headers=AUTH).json()["spec"]
    assert spec["kind"] == "classifier" and spec["params"]["architecture"] == "dense"
    # a shipped name's kind is known without asking: the old specs work unchanged
    old_style = jobs_client.post("/jobs", json={"model": "compare"}, headers=AUTH)
    assert old_style.status_code == 202
    spec = jobs_client.get(f"/jobs/{old_style.json()['id']}", headers=AUTH).json()["spec"]
    assert spec["kind"] == "compare" and spec["params"]["reader"] == "add"


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


def test_a_result_from_a_worker_of_an_earlier_release_still_reads(jobs_client):
    """Workers before kinds existed returned no `kind`; their results stay readable."""
    from celery import states

    job_id = jobs_client.post("/jobs", json={"model": "compare"}, headers=AUTH).json()["id"]
    earlier = {"model": "compare", "version": 7, "activated": True, "lineage": {"add": 1}}
    jobs_client.app.state.jobs.celery.backend.store_result(
        job_id, {**earlier, "metrics": {"test_accuracy": 0.99}, "history": []}, states.SUCCESS
    )
    job = jobs_client.get(f"/jobs/{job_id}", headers=AUTH).json()
    assert job["state"] == "succeeded"
    assert job["result"] == {**earlier, "kind": None}
