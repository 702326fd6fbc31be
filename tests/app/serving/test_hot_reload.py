import threading
import time

from tests.app.conftest import republish
from tests.helpers import image_bytes


def _wait_for(predicate, timeout=2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def _classifier_version(client, png):
    response = client.post("/classify", files={"image": png})
    assert response.status_code == 200, response.text
    return response.json()["model"]["version"]


def test_new_version_is_served_within_two_seconds_without_failing_requests(
    private_client, private_store, digits
):
    png = image_bytes(digits[0][0])
    seen, failures, stop = [], [], threading.Event()

    def hammer():
        while not stop.is_set():
            response = private_client.post("/classify", files={"image": png})
            if response.status_code != 200:
                failures.append(response.status_code)
            else:
                seen.append(response.json()["model"]["version"])

    workers = [threading.Thread(target=hammer) for _ in range(3)]
    for worker in workers:
        worker.start()
    try:
        _wait_for(lambda: len(seen) > 10)
        version = republish(private_store, "classifier")
        private_store.activate("classifier", version)
        activated = time.monotonic()
        served = _wait_for(lambda: seen[-1] == version)
        assert served - activated < 2.0
        count = len(seen)
        _wait_for(lambda: len(seen) > count + 10)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert failures == []
    assert set(seen) == {1, 2}
    first_new = seen.index(2)
    assert all(v == 2 for v in seen[first_new + 6 :])  # no flip-flopping after the swap


def test_rollback(private_client, private_store, digits):
    png = image_bytes(digits[0][0])
    version = republish(private_store, "classifier")
    private_store.activate("classifier", version)
    _wait_for(lambda: _classifier_version(private_client, png) == version)
    private_store.activate("classifier", 1)
    _wait_for(lambda: _classifier_version(private_client, png) == 1)
    listed = {m["name"]: m for m in private_client.get("/models").json()}["classifier"]
    assert listed["active"] == listed["serving"] == 1
    assert [v["version"] for v in listed["versions"]] == [1, 2]


def test_a_version_that_fails_to_load_leaves_the_old_one_serving(
    private_client, private_store, digits, caplog
):
    png = image_bytes(digits[0][0])
    broken = republish(private_store, "classifier", model_tflite=b"not a flatbuffer")
    with caplog.at_level("ERROR", logger="app.serving"):
        private_store.activate("classifier", broken)
        _wait_for(lambda: any("cannot load classifier v2" in r.message for r in caplog.records))
    assert _classifier_version(private_client, png) == 1
    assert private_client.get("/readyz").status_code == 200
    listed = {m["name"]: m for m in private_client.get("/models").json()}["classifier"]
    assert listed["active"] == 2 and listed["serving"] == 1


def test_a_head_keeps_its_own_encoder_when_the_autoencoder_moves(
    private_client, private_store, digits
):
    png = image_bytes(digits[0][0])
    version = republish(private_store, "autoencoder")
    private_store.activate("autoencoder", version)

    def encode_version():
        return private_client.post("/encode", files={"image": png}).json()["model"]["version"]

    _wait_for(lambda: encode_version() == version)
    body = private_client.post("/add?model=add", files={"a": png, "b": png}).json()
    assert body["model"] == {"name": "add", "version": 1, "kind": "add", "encoder_version": 1}


def test_a_head_exported_with_other_signatures_is_refused_and_the_old_one_serves(
    private_client, private_store, digits, caplog
):
    png = image_bytes(digits[0][0])
    foreign = private_store.get("autoencoder", 1).file("model.tflite").read_bytes()
    wrong = republish(private_store, "add", model_tflite=foreign)
    with caplog.at_level("ERROR", logger="app.serving"):
        private_store.activate("add", wrong)
        _wait_for(
            lambda: any(
                "does not have the signature predict(images)" in r.message
                and "train add again" in r.message
                for r in caplog.records
            )
        )
    body = private_client.post("/add?model=add", files={"a": png, "b": png}).json()
    assert body["model"]["version"] == 1
