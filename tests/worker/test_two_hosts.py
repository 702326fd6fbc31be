"""Two API processes and a worker that share only Redis and an S3 server (moto's, over
HTTP): a job sent to one API is followed and cancelled through the other, and the version
a worker publishes is served by both within 2 s."""

from __future__ import annotations

import time

import httpx
import redis

from tests.helpers import S3_CREDENTIALS, image_bytes, s3_client, s3_server
from tests.worker.conftest import REDIS_URL, _make_stack, _wait
from tests.worker.test_jobs_end_to_end import LONG_JOB, QUICK_JOB


def _version(base: str, image) -> int:
    response = httpx.post(f"{base}/classify", files={"image": image_bytes(image)}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["model"]["version"]


def test_two_hosts_share_jobs_and_versions_through_redis_and_s3(tmp_path, trained_root, digits):
    images, _labels = digits
    flushed = redis.Redis.from_url(REDIS_URL)
    flushed.flushdb()
    with s3_server() as endpoint:
        s3_client(endpoint).create_bucket(Bucket="shared")
        extra = {
            "HANDCALC_ARTIFACT_ROOT": "s3://shared/models",
            "HANDCALC_STARTER_DIR": str(trained_root),
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": S3_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": S3_CREDENTIALS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        stack = _make_stack(tmp_path, trained_root, REDIS_URL, extra=extra)
        try:
            other = stack.start_replica()
            headers = stack.headers
            # followed and cancelled through the other API
            long_job = stack.submit("classifier", **LONG_JOB)
            _wait(
                lambda: (
                    httpx.get(f"{other}/jobs/{long_job}", headers=headers).json()["state"]
                    == "running"
                ),
                120,
                "the long job to run",
            )
            cancelled = httpx.delete(f"{other}/jobs/{long_job}", headers=headers)
            assert cancelled.status_code == 202
            stack.wait_for_job(long_job, {"cancelled"}, timeout=60)

            # published by the worker to S3, then served by both
            quick = httpx.post(
                f"{other}/jobs", json={"model": "classifier", "params": QUICK_JOB}, headers=headers
            ).json()["id"]
            done = stack.wait_for_job(quick, {"succeeded", "failed"}, timeout=180)
            assert done["state"] == "succeeded", done
            published = time.monotonic()
            for base in (stack.base, other):
                _wait(lambda b=base: _version(b, images[0]) == 2, 2.0, f"{base} to serve v2")
            assert time.monotonic() - published < 4.0  # both, one after the other
        finally:
            stack.stop()
            flushed.flushdb()
            flushed.close()
