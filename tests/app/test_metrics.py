"""GET /metrics after real traffic: the counts move by exactly what was sent."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from app.settings import ApiSettings
from models.settings import Settings
from tests.helpers import free_port, image_bytes, wait_until_ready


def scrape(get) -> dict[tuple, float]:
    """(sample name, sorted labels) -> value, from a /metrics response."""
    response = get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, metric: str, /, **labels) -> float:
    return samples.get((metric, tuple(sorted(labels.items()))), 0.0)


def test_requests_uploads_batches_and_models_are_counted(client, digits) -> None:
    images, _labels = digits
    before = scrape(client.get)
    sent = 0
    for image in images[:3]:
        request = client.build_request("POST", "/classify", files={"image": image_bytes(image)})
        sent += len(request.read())
        assert client.send(request).status_code == 200
    assert client.post("/classify", files={"image": b"not an image"}).status_code == 422
    assert client.get("/no/such/route").status_code == 404
    after = scrape(client.get)

    def moved(metric: str, /, **labels) -> float:
        return value(after, metric, **labels) - value(before, metric, **labels)

    classify = {"route": "/classify", "method": "POST"}
    assert moved("handcalc_requests_total", **classify, status="200") == 3
    assert moved("handcalc_requests_total", **classify, status="422") == 1
    assert moved("handcalc_requests_total", route="unmatched", method="GET", status="404") == 1
    assert moved("handcalc_request_duration_seconds_count", route="/classify") == 4
    body_bytes = moved("handcalc_request_body_bytes_total", route="/classify")
    assert body_bytes > sent  # the three images, then the bad upload
    assert moved("handcalc_batch_rows_count", model="classifier") == 3  # one lone request each
    assert moved("handcalc_batch_rows_sum", model="classifier") == 3
    assert moved("handcalc_batch_wait_seconds_count", model="classifier") == 3
    assert moved("handcalc_inference_duration_seconds_count", model="classifier") == 3
    assert moved("handcalc_admission_total", outcome="admitted") == 5  # scrapes always get in
    assert value(after, "handcalc_model_version", name="classifier") == 1
    assert value(after, "handcalc_model_loads_total", name="classifier", outcome="loaded") >= 1


def test_jobs_sent_and_cancelled_are_counted(trained_root, tmp_path) -> None:
    settings = ApiSettings(
        artifact_root=trained_root, api_token="metrics-token", state_dir=tmp_path / "state"
    )
    headers = {"Authorization": "Bearer metrics-token"}
    with TestClient(create_app(settings)) as client:
        before = scrape(client.get)
        job = client.post("/jobs", json={"model": "classifier"}, headers=headers)
        assert job.status_code == 202, job.text
        cancelled = client.delete(f"/jobs/{job.json()['id']}", headers=headers)
        assert cancelled.status_code == 202, cancelled.text
        after = scrape(client.get)
    for action in ("submitted", "cancelled"):
        moved = value(after, "handcalc_jobs_total", action=action)
        assert moved - value(before, "handcalc_jobs_total", action=action) == 1


@pytest.mark.slow
def test_two_api_processes_add_up_their_metrics(tmp_path, digits) -> None:
    """`handcalc serve --workers 2`: any process's /metrics counts every process's requests."""
    images, _labels = digits
    store = tmp_path / "store"
    shutil.copytree(Settings().starter_dir, store)
    port = free_port()
    environment = {**os.environ, "HANDCALC_ARTIFACT_ROOT": str(store),
                   "HANDCALC_STATE_DIR": str(tmp_path / "state")}  # fmt: skip
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp_path / "api.log"
    command = [sys.executable, "-m", "app.cli", "serve", "--workers", "2", "--port", str(port)]
    process = subprocess.Popen(command, env=environment, stdout=log.open("w"), stderr=log.open("a"))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, process, 90, log.read_text)
        assert (tmp_path / "state" / "metrics").is_dir()
        with httpx.Client(base_url=base, timeout=30) as http:
            for image in images[:20]:
                # new connections, so that both processes take some
                files, close = {"image": image_bytes(image)}, {"Connection": "close"}
                response = http.post("/classify", files=files, headers=close)
                assert response.status_code == 200
            deadline = time.monotonic() + 10
            for _ in range(6):  # every scrape, whichever process answers, sees all twenty
                samples = scrape(http.get)
                counted = value(
                    samples, "handcalc_requests_total", route="/classify", method="POST",
                    status="200",
                )  # fmt: skip
                assert counted == 20
                assert time.monotonic() < deadline
    finally:
        process.terminate()
        process.wait(timeout=30)
