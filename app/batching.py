"""Micro-batching: concurrent requests for one model share one LiteRT call.

Each loaded model gets one owner thread, the only one that ever touches its
interpreter. Request threads hand it their inputs and wait. The owner takes the
first waiting request, gathers more for at most `max_wait_s` or until
`max_batch` rows are collected, runs each signature once on the concatenated
rows and hands every request its own slice of the outputs, in order. The owner
waits for company only while the last call was shared (the service is under
load): a lone request under light load runs at once, and no request ever waits
longer than `max_wait_s`; a request that alone fills a batch never waits.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Runner = Callable[..., dict[str, np.ndarray]]


@dataclass
class _Request:
    signature: str
    input_name: str
    rows: np.ndarray
    wake: Callable[[], None]
    """Called by the owner thread once `outputs` or `error` is set."""
    outputs: dict[str, np.ndarray] | None = None
    error: BaseException | None = None

    def result(self) -> dict[str, np.ndarray]:
        if self.error is not None:
            raise self.error
        return self.outputs


_STOP = object()


class MicroBatcher:
    """Serialises and batches calls to one model's `run(signature, **{input: rows})`."""

    def __init__(
        self, run: Runner, *, max_batch: int = 64, max_wait_s: float = 0.002, name: str = ""
    ) -> None:
        if max_batch < 1 or max_wait_s < 0:
            raise ValueError("max_batch must be >= 1 and max_wait_s >= 0")
        self._run = run
        self._max_batch = max_batch
        self._max_wait_s = max_wait_s
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = False
        self._state = threading.Lock()
        self._direct = threading.Lock()  # used only after close, for stragglers
        self._thread = threading.Thread(target=self._loop, name=f"batcher-{name}", daemon=True)
        self._thread.start()

    def __call__(self, signature: str, input_name: str, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Run `rows` (a batch of one or more) through `signature`; blocks until done."""
        done = threading.Event()
        request = _Request(signature, input_name, np.asarray(rows, dtype=np.float32), done.set)
        if not self._enqueue(request):
            return self._run_directly(request)
        done.wait()
        return request.result()

    async def run_async(
        self, signature: str, input_name: str, rows: np.ndarray
    ) -> dict[str, np.ndarray]:
        """The same from a coroutine: the event loop is free while the model runs."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def wake() -> None:
            loop.call_soon_threadsafe(lambda: done.done() or done.set_result(None))

        request = _Request(signature, input_name, np.asarray(rows, dtype=np.float32), wake)
        if not self._enqueue(request):
            return self._run_directly(request)
        await done
        return request.result()

    def _enqueue(self, request: _Request) -> bool:
        with self._state:
            if not self._closed:
                self._queue.put(request)
                return True
        return False

    def _run_directly(self, request: _Request) -> dict[str, np.ndarray]:
        """For a request that picked this model up just before it was swapped out."""
        with self._direct:
            return self._run(request.signature, **{request.input_name: request.rows})

    def close(self) -> None:
        """Finish what is queued, then stop the owner thread."""
        with self._state:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        stopping = False
        busy = False  # did the last call serve more than one request?
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                return
            gathered, rows = [first], len(first.rows)
            deadline = time.monotonic() + (self._max_wait_s if busy else 0.0)
            while rows < self._max_batch:
                remaining = deadline - time.monotonic()
                try:
                    if remaining > 0:
                        item = self._queue.get(timeout=remaining)
                    else:
                        item = self._queue.get_nowait()  # take what is already waiting
                except queue.Empty:
                    item = None
                if item is None:
                    break
                if item is _STOP:
                    stopping = True
                    break
                gathered.append(item)
                rows += len(item.rows)
            busy = len(gathered) > 1
            self._serve(gathered)

    def _serve(self, gathered: list[_Request]) -> None:
        by_signature: dict[str, list[_Request]] = {}
        for request in gathered:
            by_signature.setdefault(request.signature, []).append(request)
        for signature, requests in by_signature.items():
            try:
                rows = np.concatenate([r.rows for r in requests]) if len(requests) > 1 else None
                outputs = self._run(
                    signature,
                    **{requests[0].input_name: requests[0].rows if rows is None else rows},
                )
                start = 0
                for request in requests:
                    end = start + len(request.rows)
                    request.outputs = {key: value[start:end] for key, value in outputs.items()}
                    start = end
            except BaseException as error:  # every waiter must wake up, with the error
                for request in requests:
                    request.error = error
            for request in requests:
                request.wake()
