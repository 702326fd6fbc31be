import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from app.batching import MicroBatcher
from models.catalog import LITERT_FILE
from models.registry import ArtifactStore
from models.runtime import LiteModel
from tests.helpers import image_bytes


@pytest.fixture(scope="module")
def classifier(trained_root):
    return LiteModel(ArtifactStore(trained_root).resolve("classifier").file(LITERT_FILE))


class Recording:
    """A runner that records the batch sizes the batcher hands to the model."""

    def __init__(self, model):
        self.model, self.sizes, self.threads = model, [], set()

    def __call__(self, signature, **inputs):
        (rows,) = inputs.values()
        self.sizes.append(len(rows))
        self.threads.add(threading.get_ident())
        return self.model.run(signature, **inputs)


def test_concurrent_requests_share_calls_and_get_their_own_answers(classifier, digits):
    images = (digits[0][:256] / 255.0).astype(np.float32)
    expected = classifier.run("classify", image=images)["probabilities"]
    runner = Recording(classifier)
    batcher = MicroBatcher(runner, max_batch=64, max_wait_s=0.005)
    barrier = threading.Barrier(32)

    def ask(index):
        if index < 32:
            barrier.wait()
        return batcher("classify", "image", images[index : index + 1])["probabilities"][0]

    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(ask, range(len(images))))
    batcher.close()
    np.testing.assert_allclose(np.stack(answers), expected, atol=1e-5)
    assert sum(runner.sizes) == len(images)
    assert max(runner.sizes) > 1 and len(runner.sizes) < len(images)  # batches formed
    assert max(runner.sizes) <= 64
    assert len(runner.threads) == 1  # one owner thread touches the interpreter


def test_multi_row_requests_come_back_whole_and_in_order(classifier, digits):
    images = (digits[0][:90] / 255.0).astype(np.float32)
    expected = classifier.run("classify", image=images)["probabilities"]
    batcher = MicroBatcher(classifier.run, max_batch=64, max_wait_s=0.01)
    chunks = [(0, 7), (7, 40), (40, 41), (41, 90)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(lambda c: batcher("classify", "image", images[c[0] : c[1]]), chunks)
        )
    batcher.close()
    for (start, end), result in zip(chunks, results, strict=True):
        np.testing.assert_allclose(result["probabilities"], expected[start:end], atol=1e-5)


def test_a_lone_request_waits_at_most_the_window(classifier, digits):
    image = (digits[0][:1] / 255.0).astype(np.float32)
    batcher = MicroBatcher(classifier.run, max_batch=64, max_wait_s=0.05)
    batcher("classify", "image", image)  # warm
    started = time.perf_counter()
    batcher("classify", "image", image)
    assert time.perf_counter() - started < 0.05 + 0.03
    full = (digits[0][:64] / 255.0).astype(np.float32)
    slow = MicroBatcher(classifier.run, max_batch=64, max_wait_s=5.0)
    started = time.perf_counter()
    slow("classify", "image", full)  # a full batch does not wait for company
    assert time.perf_counter() - started < 1.0
    batcher.close(), slow.close()


def test_errors_reach_every_waiter_and_the_batcher_survives(classifier, digits):
    calls = []

    def flaky(signature, **inputs):
        calls.append(signature)
        if len(calls) == 1:
            raise RuntimeError("interpreter failed")
        return classifier.run(signature, **inputs)

    batcher = MicroBatcher(flaky, max_batch=64, max_wait_s=0.0)
    image = (digits[0][:1] / 255.0).astype(np.float32)
    with pytest.raises(RuntimeError, match="interpreter failed"):
        batcher("classify", "image", image)
    assert batcher("classify", "image", image)["probabilities"].shape == (1, 10)
    batcher.close()
    # after close, a straggler still gets an answer, run directly
    assert batcher("classify", "image", image)["probabilities"].shape == (1, 10)


def test_concurrent_http_requests_get_their_own_digits(client, digits):
    x, _ = digits
    uploads = [image_bytes(image) for image in x[:64]]
    sequential = [
        client.post("/classify", files={"image": data}).json()["probabilities"] for data in uploads
    ]
    with ThreadPoolExecutor(max_workers=16) as pool:
        concurrent = list(
            pool.map(lambda data: client.post("/classify", files={"image": data}).json(), uploads)
        )
    for answer, expected in zip(concurrent, sequential, strict=True):
        np.testing.assert_allclose(answer["probabilities"], expected, atol=1e-5)


def test_coroutines_share_calls_and_get_their_own_answers(classifier, digits):
    images = (digits[0][:100] / 255.0).astype(np.float32)
    expected = classifier.run("classify", image=images)["probabilities"]
    runner = Recording(classifier)
    batcher = MicroBatcher(runner, max_batch=64, max_wait_s=0.005)

    async def ask_all():
        return await asyncio.gather(
            *(batcher.run_async("classify", "image", images[i : i + 1]) for i in range(100))
        )

    answers = asyncio.run(ask_all())
    batcher.close()
    got = np.concatenate([answer["probabilities"] for answer in answers])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert max(runner.sizes) > 1 and sum(runner.sizes) == 100
