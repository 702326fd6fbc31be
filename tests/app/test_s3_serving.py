"""The API with its artifact store on S3 (a real S3 API server, moto's, over HTTP): it seeds
the empty bucket, serves, follows a promotion made by another host, and keeps serving
what it has when the store goes away."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import httpx

from app.cli import api_command
from models.artifacts.registry import ArtifactStore
from models.artifacts.s3_store import S3ArtifactStore
from tests.helpers import (
    S3_CREDENTIALS,
    free_port,
    image_bytes,
    s3_client,
    s3_server,
    wait_until_ready,
)


def _classify(base: str, image) -> dict:
    response = httpx.post(f"{base}/classify", files={"image": image_bytes(image)}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_api_on_s3_seeds_serves_follows_and_outlives_the_store(trained_root, tmp_path, digits):
    images, labels = digits
    with s3_server() as endpoint:
        client = s3_client(endpoint)
        client.create_bucket(Bucket="handcalc")
        port = free_port()
        log = tmp_path / "api.log"
        environment = {
            **os.environ,
            "HANDCALC_ARTIFACT_ROOT": "s3://handcalc/prod",
            "HANDCALC_STARTER_DIR": str(trained_root),  # an empty bucket is seeded from it
            "HANDCALC_STATE_DIR": str(tmp_path / "state"),
            "HANDCALC_RELOAD_INTERVAL_S": "0.2",
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": S3_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": S3_CREDENTIALS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        api = subprocess.Popen(
            api_command("127.0.0.1", port, workers=1),
            env=environment,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_ready(base, api, 90, log.read_text)
            answer = _classify(base, images[0])
            assert answer["digit"] == labels[0] and answer["model"]["version"] == 1

            # another host publishes classifier v2 (the same files) and promotes it
            other = S3ArtifactStore("s3://handcalc/prod", tmp_path / "other", client=client)
            source = ArtifactStore(trained_root).resolve("classifier")
            with other.stage("classifier") as staging:
                for filename in source.metadata["files"]:
                    (staging / filename).parent.mkdir(parents=True, exist_ok=True)  # figures/
                    shutil.copy(source.file(filename), staging / filename)
                kept = ("name", "version", "files", "created")
                metadata = {k: v for k, v in source.metadata.items() if k not in kept}
                version = other.publish("classifier", staging, metadata).version
            other.activate("classifier", version)
            promoted = time.monotonic()
            while _classify(base, images[1])["model"]["version"] != version:
                assert time.monotonic() - promoted < 2.0, "not served within 2 s"
                time.sleep(0.05)
        except BaseException:
            api.kill()
            raise
    # the S3 server is gone: inference goes on, store routes say why they cannot answer
    try:
        answer = _classify(base, images[2])
        assert answer["digit"] == labels[2] and answer["model"]["version"] == version
        listing = httpx.get(f"{base}/models", timeout=30)
        assert listing.status_code == 503
        assert "artifact store cannot be reached" in listing.json()["detail"]
        assert httpx.get(f"{base}/readyz").status_code == 200
    finally:
        api.kill()
        api.wait()
