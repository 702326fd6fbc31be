"""Training jobs over HTTP against a real worker process and a real broker."""

from __future__ import annotations

import json
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from models.artifacts.registry import ArtifactStore
from tests.helpers import image_bytes
from tests.worker.conftest import HEARTBEAT_TIMEOUT_S, _wait

QUICK_JOB = {"epochs": 3, "train_limit": 1500, "batch_size": 64}
LONG_JOB = {"epochs": 200, "train_limit": 4000, "batch_size": 32, "patience": 50}


def _classify(stack, image) -> dict:
    response = httpx.post(f"{stack.base}/classify", files={"image": image_bytes(image)})
    assert response.status_code == 200, response.text
    return response.json()


def _run_job_to_success(stack, digits):
    job_id = stack.submit("classifier", **QUICK_JOB)
    epochs_seen = set()

    def finished():
        job = stack.job(job_id)
        epochs_seen.add(job["progress"]["epoch"])
        assert job["state"] in {"queued", "running", "succeeded"}, job
        return job["state"] == "succeeded" and job

    job = _wait(finished, 120, "the job to succeed", interval=0.1)
    assert {1, 2} <= epochs_seen  # progress advanced epoch by epoch while it ran
    assert job["result"] == {
        "model": "classifier",
        "kind": "classifier",
        "version": 2,
        "activated": True,
        "lineage": {},
    }
    assert [entry["epoch"] for entry in job["history"]] == [1, 2, 3]
    assert 0.0 <= job["metrics"]["test_accuracy"] <= 1.0
    assert job["progress"]["fraction"] == 1.0

    succeeded_at = time.monotonic()
    _wait(lambda: _classify(stack, digits[0][0])["model"]["version"] == 2, 2.0, "v2 served")
    assert time.monotonic() - succeeded_at < 2.0
    stored = ArtifactStore(stack.artifacts).get("classifier", 2)
    assert stored.metadata["params"]["epochs"] == 3
    assert stored.metadata["device"] == "cpu"
    return job_id


def test_a_job_trains_publishes_and_is_served_over_redis(redis_stack, digits):
    job_id = _run_job_to_success(redis_stack, digits)
    listed = httpx.get(f"{redis_stack.base}/jobs", headers=redis_stack.headers).json()
    assert [job["id"] for job in listed] == [job_id]
    finished = httpx.delete(f"{redis_stack.base}/jobs/{job_id}", headers=redis_stack.headers)
    assert finished.status_code == 409 and "already succeeded" in finished.json()["detail"]

    # roll back over the API, and the running service follows
    rollback = httpx.post(
        f"{redis_stack.base}/models/classifier/versions/1/activate", headers=redis_stack.headers
    )
    assert rollback.status_code == 200 and rollback.json()["active"] == 1
    _wait(lambda: _classify(redis_stack, digits[0][0])["model"]["version"] == 1, 2.0, "rollback")


def test_the_same_flow_on_the_embedded_filesystem_broker(embedded_stack, digits):
    _run_job_to_success(embedded_stack, digits)


def test_cancel_a_queued_and_a_running_job(redis_stack):
    running = redis_stack.submit("classifier", **LONG_JOB)
    _wait(lambda: redis_stack.job(running)["progress"]["epoch"] >= 1, 120, "the job to run")
    queued = redis_stack.submit("classifier", **QUICK_JOB)
    assert redis_stack.job(queued)["state"] == "queued"

    response = httpx.delete(f"{redis_stack.base}/jobs/{queued}", headers=redis_stack.headers)
    assert response.status_code == 202 and response.json()["state"] == "cancelled"

    response = httpx.delete(f"{redis_stack.base}/jobs/{running}", headers=redis_stack.headers)
    assert response.status_code == 202
    job = redis_stack.wait_for_job(running, {"cancelled", "failed", "succeeded"}, timeout=30)
    assert job["state"] == "cancelled"
    assert "nothing was published" in job["error"]

    # the worker is free again; the queued job must still never run
    time.sleep(3)
    assert redis_stack.job(queued)["state"] == "cancelled"
    assert [v.version for v in ArtifactStore(redis_stack.artifacts).versions("classifier")] == [1]


def test_a_killed_worker_fails_its_job_and_publishes_nothing(redis_stack, digits):
    job_id = redis_stack.submit("classifier", **LONG_JOB)
    _wait(lambda: redis_stack.job(job_id)["progress"]["epoch"] >= 1, 120, "the job to run")
    redis_stack.kill_worker()
    killed_at = time.monotonic()
    job = redis_stack.wait_for_job(job_id, {"failed", "cancelled", "succeeded"}, timeout=60)
    assert job["state"] == "failed"
    assert "stopped responding" in job["error"]
    assert time.monotonic() - killed_at < HEARTBEAT_TIMEOUT_S + 10
    assert [v.version for v in ArtifactStore(redis_stack.artifacts).versions("classifier")] == [1]
    assert _classify(redis_stack, digits[0][0])["model"]["version"] == 1

    # a new worker takes new jobs; the dead job stays failed
    redis_stack.start_worker()
    _run_job_to_success(redis_stack, digits)
    assert redis_stack.job(job_id)["state"] == "failed"


def test_any_replica_follows_lists_and_cancels_any_job(redis_stack):
    """Two API processes share only Redis and the artifacts: each sees the other's jobs."""
    other = redis_stack.start_replica()
    headers = redis_stack.headers
    running = redis_stack.submit("classifier", **LONG_JOB)
    queued = httpx.post(
        f"{other}/jobs", json={"model": "classifier", "params": QUICK_JOB}, headers=headers
    ).json()["id"]
    _wait(
        lambda: (
            httpx.get(f"{other}/jobs/{running}", headers=headers).json()["progress"]["epoch"] >= 1
        ),
        120,
        "the job to run",
    )
    for base in (redis_stack.base, other):
        listed = httpx.get(f"{base}/jobs", headers=headers).json()
        assert [job["id"] for job in listed] == [queued, running]  # newest first
        page = httpx.get(f"{base}/jobs", params={"limit": 1, "offset": 1}, headers=headers)
        assert [job["id"] for job in page.json()] == [running]
    assert redis_stack.job(queued)["state"] == "queued"

    cancelled = httpx.delete(f"{redis_stack.base}/jobs/{queued}", headers=headers)
    assert cancelled.status_code == 202 and cancelled.json()["state"] == "cancelled"
    stopping = httpx.delete(f"{other}/jobs/{running}", headers=headers)
    assert stopping.status_code == 202
    job = redis_stack.wait_for_job(running, {"cancelled", "failed", "succeeded"}, timeout=30)
    assert job["state"] == "cancelled"
    assert httpx.get(f"{other}/jobs/{queued}", headers=headers).json()["state"] == "cancelled"
    bad_page = httpx.get(f"{other}/jobs", params={"limit": 0}, headers=headers)
    assert bad_page.status_code == 422 and "limit" in bad_page.json()["detail"]


def _samples(url: str) -> dict[tuple[str, tuple], float]:
    """A real scrape of the worker's metrics: {(sample name, sorted labels): value}."""
    response = httpx.get(url, timeout=5)
    assert response.status_code == 200, response.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_a_job_logs_json_under_its_request_id_and_moves_the_worker_metrics(observed_stack):
    stack, metrics_url = observed_stack
    succeeded = ("handcalc_worker_jobs_total", (("kind", "classifier"), ("state", "succeeded")))
    before = _samples(metrics_url)
    response = httpx.post(
        f"{stack.base}/jobs",
        json={"model": "classifier", "params": QUICK_JOB},
        headers={**stack.headers, "X-Request-ID": "train-req-42"},
    )
    assert response.status_code == 202 and response.headers["x-request-id"] == "train-req-42"
    job_id = response.json()["id"]
    job = stack.wait_for_job(job_id, {"succeeded", "failed", "cancelled"})
    assert job["state"] == "succeeded", job

    after = _samples(metrics_url)
    assert after[succeeded] - before.get(succeeded, 0.0) == 1
    duration = ("handcalc_worker_job_duration_seconds_count", (("kind", "classifier"),))
    assert after[duration] == 1
    model = (("model", "classifier"),)
    assert after[("handcalc_worker_job_epoch", model)] == QUICK_JOB["epochs"]
    assert after[("handcalc_worker_job_epochs", model)] == QUICK_JOB["epochs"]

    stack.stop()
    lines = [json.loads(line) for line in stack.logs[-1].read_text().splitlines()]
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line), line
    of_the_job = [line for line in lines if line.get("job_id") == job_id]
    assert {"celery.app.trace", "worker.tasks"} <= {line["logger"] for line in of_the_job}
    in_the_task = [line for line in of_the_job if line["logger"] != "celery.worker.strategy"]
    assert in_the_task and all(line["request_id"] == "train-req-42" for line in in_the_task)
    (published,) = [line for line in in_the_task if line["logger"] == "worker.tasks"]
    assert published["model"] == "classifier" and published["version"] == 2
    api = [json.loads(line) for line in (stack.state / "api.log").read_text().splitlines()]
    (sent,) = [line for line in api if line.get("request_id") == "train-req-42"]
    assert sent["job_id"] == job_id and sent["status"] == 202
