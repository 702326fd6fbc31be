import asyncio
import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import uvloop

from app.serving.batching import MicroBatcher
from models.artifacts.catalog import LITERT_FILE
from models.artifacts.registry import ArtifactStore
from models.runtime import LiteModel
from tests.helpers import image_bytes


@pytest.fixture(scope="module")
def classifier(trained_root):
    return LiteModel(ArtifactStore(trained_root).resolve("classifier").file(LITERT_FILE))


@pytest.fixture()
def images(digits):
    return (digits[0][:200] / 255.0).astype(np.float32)


class Guarded:
    """A runner that fails the test if two calls ever overlap."""

    def __init__(self, model, delay=0.0):
        self.model, self.delay, self.active, self.overlaps = model, delay, 0, 0
        self.guard = threading.Lock()

    def __call__(self, signature, **inputs):
        with self.guard:
            self.active += 1
            self.overlaps += self.active > 1
        try:
            time.sleep(self.delay)
            return self.model.run(signature, **inputs)
        finally:
            with self.guard:
                self.active -= 1


def _gather(batcher, images, sizes):
    async def ask_all():
        starts = np.cumsum([0, *sizes])
        return await asyncio.gather(
            *(
                batcher.run_async("classify", "image", images[a:b])
                for a, b in itertools.pairwise(starts)
            )
        )

    return asyncio.run(ask_all())


def test_concurrent_requests_share_calls_and_get_their_own_answers(classifier, images):
    expected = classifier.run("classify", image=images)["probabilities"]
    runner = Guarded(classifier)
    batcher = MicroBatcher(runner, max_batch=64, max_wait_s=0.005)
    answers = _gather(batcher, images, [1] * len(images))
    got = np.concatenate([answer["probabilities"] for answer in answers])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    calls = list(batcher.calls)
    assert sum(calls) == len(images) and max(calls) == 64 and len(calls) < len(images)


def test_multi_row_requests_come_back_whole_and_in_order(classifier, images):
    expected = classifier.run("classify", image=images[:90])["probabilities"]
    batcher = MicroBatcher(classifier.run, max_batch=64, max_wait_s=0.01)
    sizes = [7, 33, 1, 49]
    answers = _gather(batcher, images, sizes)
    starts = np.cumsum([0, *sizes])
    for answer, a, b in zip(answers, starts[:-1], starts[1:], strict=True):
        np.testing.assert_allclose(answer["probabilities"], expected[a:b], atol=1e-5)


def test_a_lone_request_is_not_delayed_and_none_waits_past_the_window(classifier, images):
    batcher = MicroBatcher(classifier.run, max_batch=64, max_wait_s=0.05)

    async def scenario():
        await batcher.run_async("classify", "image", images[:1])  # quiet: no wait
        started = time.perf_counter()
        await batcher.run_async("classify", "image", images[:1])
        quiet = time.perf_counter() - started
        await asyncio.gather(
            *(batcher.run_async("classify", "image", images[:1]) for _ in range(3))
        )
        started = time.perf_counter()  # busy now: a lone request waits for company, but
        await batcher.run_async("classify", "image", images[:1])  # at most the window
        busy = time.perf_counter() - started
        started = time.perf_counter()
        await batcher.run_async("classify", "image", images[:64])  # fills a batch alone
        full = time.perf_counter() - started
        return quiet, busy, full

    quiet, busy, full = asyncio.run(scenario())
    assert quiet < 0.01
    assert 0.04 < busy < 0.05 + 0.03
    assert full < 0.04


@pytest.mark.parametrize("run", [asyncio.run, uvloop.run], ids=["asyncio", "uvloop"])
def test_a_busy_model_waits_for_company_only_while_some_is_on_its_way(classifier, images, run):
    """The wait for company ends as soon as every request of the process has joined, on
    asyncio's loop and on uvloop's (which uvicorn runs when it is installed)."""
    in_progress = [2]
    batcher = MicroBatcher(
        classifier.run, max_batch=64, max_wait_s=0.5, in_progress=lambda: in_progress[0]
    )

    async def pair(count: int) -> float:
        in_progress[0] = count
        started = time.perf_counter()
        answers = await asyncio.gather(
            *(batcher.run_async("classify", "image", images[index : index + 1]) for index in (0, 1))
        )
        assert [len(answer["probabilities"]) for answer in answers] == [1, 1]
        return time.perf_counter() - started

    async def scenario():
        await pair(2)  # one call for two: the model is busy from now on
        return await pair(2), await pair(3)

    everyone_here, one_on_its_way = run(scenario())
    assert everyone_here < 0.25  # far under the window: it was not waited
    assert one_on_its_way > 0.45
    assert list(batcher.calls) == [2, 2, 2]


def test_errors_reach_every_waiter_and_the_batcher_survives(classifier, images):
    calls = []

    def flaky(signature, **inputs):
        calls.append(signature)
        if len(calls) == 1:
            raise RuntimeError("interpreter failed")
        return classifier.run(signature, **inputs)

    batcher = MicroBatcher(flaky, max_batch=64, max_wait_s=0.0)
    with pytest.raises(RuntimeError, match="interpreter failed"):
        _gather(batcher, images, [1, 1, 1])
    assert len(calls) == 1  # the three shared the failed call
    assert _gather(batcher, images, [1])[0]["probabilities"].shape == (1, 10)


def test_threads_and_coroutines_never_run_the_model_at_once(classifier, images):
    runner = Guarded(classifier, delay=0.002)
    batcher = MicroBatcher(runner, max_batch=8, max_wait_s=0.001)
    with ThreadPoolExecutor(max_workers=4) as pool:
        from_threads = pool.map(
            lambda i: batcher("classify", "image", images[i : i + 1]), range(20)
        )
        from_loop = _gather(batcher, images, [1] * 40 + [16])
        list(from_threads)
    assert runner.overlaps == 0
    assert len(from_loop) == 41


def test_the_model_runs_beside_the_loop_which_stays_free(classifier, images):
    """While one call computes in its thread, the loop goes on, and the requests that
    arrive meanwhile go together in the next call, no bigger than max_batch."""
    runner = Guarded(classifier, delay=0.05)
    threads = []

    def recording(signature, **inputs):
        threads.append(threading.current_thread())
        return runner(signature, **inputs)

    batcher = MicroBatcher(recording, max_batch=8, max_wait_s=0.0)
    expected = classifier.run("classify", image=images[:21])["probabilities"]

    async def scenario():
        first = asyncio.ensure_future(batcher.run_async("classify", "image", images[:1]))
        for _ in range(10):  # 10 ms on the loop, while the first call takes 50
            await asyncio.sleep(0.001)
        free = not first.done()
        later = [batcher.run_async("classify", "image", images[i : i + 1]) for i in range(1, 21)]
        answers = await asyncio.gather(first, *later)
        return free, answers, threading.current_thread()

    free, answers, loop_thread = asyncio.run(scenario())
    assert free  # the loop went on while the model computed
    assert loop_thread not in threads
    assert list(batcher.calls) == [1, 8, 8, 4] and runner.overlaps == 0
    got = np.concatenate([answer["probabilities"] for answer in answers])
    np.testing.assert_allclose(got, expected, atol=1e-5)


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


class Where:
    """A runner that notes which thread each call ran on."""

    def __init__(self, model):
        self.model, self.threads = model, []

    def __call__(self, signature, **inputs):
        self.threads.append(threading.current_thread())
        return self.model.run(signature, **inputs)


def test_a_lone_request_of_a_quiet_process_runs_on_the_event_loop(classifier, images):
    expected = classifier.run("classify", image=images[:3])["probabilities"]
    for count, on_the_loop in ((lambda: 1, True), (lambda: 2, False), (None, False)):
        runner = Where(classifier)
        batcher = MicroBatcher(runner, executor=ThreadPoolExecutor(1), in_progress=count)
        for index in range(3):
            (answer,) = _gather(batcher, images[index:], [1])
            np.testing.assert_allclose(answer["probabilities"][0], expected[index], atol=1e-5)
        loop_thread = threading.current_thread()  # asyncio.run runs the loop right here
        assert [thread is loop_thread for thread in runner.threads] == [on_the_loop] * 3


def test_requests_ready_together_still_share_a_call_in_a_thread(classifier, images):
    """Every request ready to run reaches the batcher before its call starts, so a quiet
    process's burst is batched, not run one by one on the loop."""
    runner = Where(classifier)
    batcher = MicroBatcher(runner, executor=ThreadPoolExecutor(1), in_progress=lambda: 1)
    answers = _gather(batcher, images, [1] * 10)
    assert [len(answer["probabilities"]) for answer in answers] == [1] * 10
    assert list(batcher.calls) == [10]
    assert runner.threads[0] is not threading.current_thread()
