"""The broker goes away and comes back: inference never notices, job routes answer 503 at
once, and a queued job survives the restart of a Redis that persists its writes."""

from __future__ import annotations

import time

import httpx

from tests.helpers import image_bytes
from tests.worker.conftest import _make_stack, _wait
from tests.worker.test_jobs_end_to_end import QUICK_JOB


def _timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_jobs_answer_503_while_redis_is_down_and_work_again_after(
    own_redis, tmp_path, trained_root, digits
):
    stack = _make_stack(tmp_path, trained_root, own_redis.url, worker=False)
    try:
        queued = stack.submit("classifier", **QUICK_JOB)  # no worker yet: it stays queued
        assert stack.job(queued)["state"] == "queued"
        own_redis.stop()

        refused = []
        for method, path, body in (
            ("POST", "/jobs", {"model": "classifier", "params": QUICK_JOB}),
            ("GET", "/jobs", None),
            ("GET", f"/jobs/{queued}", None),
            ("DELETE", f"/jobs/{queued}", None),
        ):
            response, seconds = _timed(
                lambda m=method, p=path, b=body: httpx.request(
                    m, f"{stack.base}{p}", json=b, headers=stack.headers, timeout=10
                )
            )
            refused.append((method, path, response.status_code, seconds))
            assert response.status_code == 503, (method, path, response.text)
            assert seconds < 1.0, (method, path, seconds)
            detail = response.json()["detail"]
            assert "broker" in detail and f"127.0.0.1:{own_redis.port}" in detail, detail
            assert response.headers["retry-after"] == "5"

        ready = httpx.get(f"{stack.base}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ready"
        assert ready.json()["jobs"].startswith("unavailable: the job broker")

        image, digit = digits[0][0], int(digits[1][0])
        answer = httpx.post(f"{stack.base}/classify", files={"image": image_bytes(image)})
        assert answer.status_code == 200 and answer.json()["digit"] == digit

        # back up, from its append-only file: no restart of the API, the queued job kept
        own_redis.start()
        _wait(
            lambda: httpx.get(f"{stack.base}/readyz").json()["jobs"] == "available",
            5,
            "jobs to be available again",
        )
        listed = httpx.get(f"{stack.base}/jobs", headers=stack.headers).json()
        assert [job["id"] for job in listed] == [queued]  # no phantom from the refused POST
        stack.start_worker()
        finished = stack.wait_for_job(queued, {"succeeded", "failed"}, timeout=180)
        assert finished["state"] == "succeeded", finished
        second = stack.submit("classifier", **QUICK_JOB)
        assert stack.job(second)["state"] in {"queued", "running", "succeeded"}
    finally:
        stack.stop()
