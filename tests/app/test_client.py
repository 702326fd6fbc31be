"""The Python client against a real uvicorn API over HTTP: its answers are the API's."""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
import pytest
from PIL import Image

from app.client import ApiError, AsyncClient, Client, Unreachable
from models.artifacts.registry import ArtifactStore
from tests.app.conftest import LIVE_TOKEN, republish
from tests.helpers import free_port, image_bytes


@pytest.fixture()
def base(live_api) -> str:
    return live_api[0]


@pytest.fixture()
def client(base):
    with Client(base, LIVE_TOKEN) as handcalc:
        yield handcalc


def test_classify_accepts_paths_bytes_pil_and_arrays_and_answers_as_the_api(
    client, base, digits, tmp_path
):
    images, labels = digits
    path = tmp_path / "digit.png"
    path.write_bytes(image_bytes(images[0]))
    raw = httpx.post(f"{base}/classify", files={"image": path.read_bytes()}).json()
    as_path = client.classify(path)
    assert as_path.to_json() == raw
    assert as_path.digit == raw["digit"] == labels[0]
    assert as_path.model.name == "classifier" and as_path.model.version == 1
    assert as_path.confidence == max(raw["probabilities"])
    for same in (path.read_bytes(), Image.fromarray(images[0]), images[0], images[0] / 255.0):
        assert client.classify(same).digit == labels[0]


def test_classify_many_is_one_batch_in_order(client, digits):
    images, labels = digits
    answers = client.classify_many(list(images[:24]))
    assert [a.digit for a in answers] == [client.classify(i).digit for i in images[:24]]
    assert np.mean([a.digit for a in answers] == labels[:24]) >= 0.9
    dense = client.classify_many(list(images[:4]), model="classifier-dense")
    assert {a.model.name for a in dense} == {"classifier-dense"}


def test_encode_and_decode_to_an_array_or_an_image(client, base, digits):
    image = digits[0][1]
    encoding = client.encode(image)
    raw = httpx.post(f"{base}/encode", files={"image": image_bytes(image)}).json()
    assert encoding.latent == raw["latent"] and encoding.log_variance is None
    decoding = client.decode(np.asarray(encoding.latent))
    assert decoding.array.shape == (28, 28) and decoding.model.name == "autoencoder"
    picture = client.decode_image(encoding.latent, scale=2)
    assert picture.size == (56, 56)
    vae = client.encode(image, model="vae")
    assert len(vae.latent) == len(vae.log_variance) == 8


def test_arithmetic_and_reading_answer_as_the_api(client, base, digits):
    images, labels = digits
    a, b = images[0], images[1]
    files = {"a": image_bytes(a), "b": image_bytes(b)}
    for operation in ("add", "multiply"):
        answer = getattr(client, operation)(a, b, model="reader")
        raw = httpx.post(f"{base}/{operation}", files=files, params={"model": "reader"}).json()
        assert answer.to_json() == raw
        read_a, read_b = int(answer.a.value), int(answer.b.value)
        assert answer.result == (read_a + read_b if operation == "add" else read_a * read_b)
    assert client.add(a, b, model="reader").result == labels[0] + labels[1]
    head = client.add(a, b, model="add")
    assert head.model.kind == "add" and head.parts["units"] == head.result % 10
    comparison = client.compare(a, b)
    assert comparison.to_json() == httpx.post(f"{base}/compare", files=files).json()
    number = np.concatenate([images[0], images[1], images[2]], axis=1)
    reading = client.read(number)
    assert len(reading.digits) == 3 and reading.value == "".join(
        str(d.value) for d in reading.digits
    )


def test_generate_and_interpolate(client, digits):
    generated = client.generate(count=4, seed=7, temperature=0.8)
    assert generated.array.shape == (4, 28, 28) and generated.seed == 7
    assert generated.to_json() == client.generate(count=4, seed=7, temperature=0.8).to_json()
    grid = client.generate_image(count=4, seed=7, scale=2)
    assert grid.format == "PNG" and grid.size[0] > 56
    walk = client.interpolate(digits[0][0], digits[0][1], steps=5, method="linear")
    assert walk.array.shape == (5, 28, 28) and walk.seed is None
    assert client.interpolate_image(digits[0][0], digits[0][1], steps=3).size[0] > 3 * 28


def test_errors_carry_the_apis_detail(client, base, digits, tmp_path):
    with pytest.raises(ApiError) as unknown:
        client.classify(digits[0][0], model="nope")
    assert unknown.value.status == 404
    assert "no model named 'nope'" in unknown.value.detail and "classifier" in unknown.value.detail
    text = tmp_path / "notes.txt"
    text.write_text("not a digit")
    with pytest.raises(ApiError) as bad:
        client.classify(text)
    assert bad.value.status == 422
    assert bad.value.detail.startswith("'image' (notes.txt): the uploaded file is not an image")
    with pytest.raises(ApiError) as blank:
        client.classify(np.zeros((28, 28), np.uint8))
    assert blank.value.status == 422 and "the image is blank" in blank.value.detail
    with pytest.raises(ApiError) as wrong_kind:
        client.decode([0.5] * 3)
    assert wrong_kind.value.status == 422 and "latent has 3 values" in wrong_kind.value.detail
    with Client(base) as anonymous, pytest.raises(ApiError) as refused:
        anonymous.activate("classifier", 1)
    assert refused.value.status == 401 and "token" in refused.value.detail
    with Client(f"http://127.0.0.1:{free_port()}") as nowhere, pytest.raises(Unreachable):
        nowhere.classify(b"")


def test_models_list_activate_and_delete(client, live_api):
    store = ArtifactStore(live_api[1])
    version = republish(store, "classifier-dense")
    try:
        listed = {info.name: info for info in client.models()}
        assert listed["classifier"].active == 1 and listed["classifier"].kind == "classifier"
        assert [v.version for v in listed["classifier-dense"].versions] == [1, version]
        assert client.activate("classifier-dense", version).active == version
        with pytest.raises(ApiError) as active:
            client.delete("classifier-dense", version)
        assert active.value.status == 409 and "active" in active.value.detail
    finally:
        client.activate("classifier-dense", 1)
    assert client.delete("classifier-dense", version) is None
    assert [v.version for v in store.versions("classifier-dense")] == [1]
    with pytest.raises(ApiError) as missing:
        client.activate("divide", 1)
    assert missing.value.status == 404 and "the names are" in missing.value.detail


def test_jobs_submit_wait_and_cancel_without_a_worker(client):
    accepted = client.submit("classifier", params={"epochs": 2, "train_limit": 500})
    assert accepted.status_url == f"/jobs/{accepted.id}"
    seen = []
    with pytest.raises(TimeoutError, match="still queued"):
        client.wait(accepted.id, on_progress=seen.append, timeout=0.5, interval=0.1)
    assert [job.state for job in seen] == ["queued"]  # reported once: nothing changed
    assert seen[0].spec["params"]["epochs"] == 2
    assert accepted.id in [job.id for job in client.jobs(limit=5)]
    cancelled = client.cancel(accepted.id)
    assert cancelled.state == "cancelled" and cancelled.finished
    assert client.wait(accepted.id).state == "cancelled"
    with pytest.raises(ApiError) as again:
        client.cancel(accepted.id)
    assert again.value.status == 409 and "already cancelled" in again.value.detail
    with pytest.raises(ApiError) as invalid:
        client.submit("classifier", params={"epochs": 0})
    assert invalid.value.status == 422 and "params.epochs" in invalid.value.detail


def test_the_async_client_answers_as_the_sync_one(base, digits):
    images = digits[0][:8]

    async def session():
        async with AsyncClient(base, LIVE_TOKEN) as handcalc:
            answers = await asyncio.gather(*(handcalc.classify(i) for i in images))
            total = await handcalc.add(images[0], images[1], model="reader")
            picture = await handcalc.decode_image([0.5] * 32)
            with pytest.raises(ApiError) as unknown:
                await handcalc.read(images[0], model="nope")
            accepted = await handcalc.submit("add", params={"pairs": 5000})
            seen = []
            with pytest.raises(TimeoutError):
                await handcalc.wait(accepted.id, on_progress=seen.append, timeout=0.3)
            cancelled = await handcalc.cancel(accepted.id)
            return answers, total, picture, unknown.value, seen, cancelled

    answers, total, picture, unknown, seen, cancelled = asyncio.run(session())
    with Client(base) as sync:
        assert [a.to_json() for a in answers] == [sync.classify(i).to_json() for i in images]
        assert total.to_json() == sync.add(images[0], images[1], model="reader").to_json()
    assert picture.size == (28, 28)  # a PIL image from the PNG answer
    assert unknown.status == 404 and "no model named 'nope'" in unknown.detail
    assert [job.state for job in seen] == ["queued"] and cancelled.state == "cancelled"
