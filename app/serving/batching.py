"""Micro-batching: concurrent requests for one model share one LiteRT call.

The API's inference routes are coroutines on one event loop per process, so the
batcher's bookkeeping lives on the loop, while the model itself runs in a worker
thread (LiteRT releases the GIL while it computes). The loop therefore goes on
reading and preprocessing uploads while the model works, and the two use both
cores of a small machine.

At most one call per model is in flight. A request adds its rows to the pending
batch and waits. When no call is in flight, the first request of a batch starts
one: at once when the service is quiet, so a lone request is not delayed, or
after `max_wait_s` when the last call served several requests (the service is
under load, and waiting lets more join). Requests that arrive while a call runs
gather into the next batch, which starts the moment that call ends; a batch that
reaches `max_batch` rows goes as soon as the model is free. Each call runs every
signature once over the concatenated rows and gives every request its own slice,
in order; no call takes more than `max_batch` rows unless one request alone has
more. A request that alone fills a batch (a batch upload) runs as its own call. And
when the request is the only one in the whole process, a call of a few rows runs on
the event loop itself: nothing could join it, and the trip to a thread and back costs
more than the model does.

Every call into the interpreter holds one lock, which makes the model safe to
share with other threads (warm-up, tests) as well.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

Runner = Callable[..., dict[str, np.ndarray]]
INLINE_ROWS = 4
"""A lone request of at most this many rows, with no other request in the process, runs on
the event loop itself: a trip to a thread and back with nothing to run took 200 to 270 us
(timed in a loop on a 2-core EPYC VM), as long as the classifier takes for one digit."""
_Request = tuple[str, str, np.ndarray, asyncio.Future, float]
"""Signature, input name, rows, the waiter's future, and when it was queued."""


class Observer(Protocol):
    """Hears of every model call and of how long each request waited for its call."""

    def call(self, rows: int, seconds: float) -> None: ...

    def waited(self, seconds: float) -> None: ...


@dataclass
class _LoopState:
    """The batcher's bookkeeping for one event loop."""

    requests: list[_Request] = field(default_factory=list)
    in_flight: bool = False
    scheduled: asyncio.Handle | None = None
    waiting: bool = False  # is `scheduled` the wait for company, not the loop's next turn?
    busy: bool = False  # did the last call serve more than one request?


class MicroBatcher:
    """Batches concurrent calls to one model's `run(signature, **{input: rows})`.

    `executor` runs the model calls (the loop's default executor when None).
    `in_progress()` counts the requests the process is working on. When it is one, a
    small request runs its call on the event loop itself; when every one of them is
    waiting here, the call starts at once rather than after the wait for company (there is
    none to come). Without `in_progress`, neither.
    """

    def __init__(
        self,
        run: Runner,
        *,
        max_batch: int = 64,
        max_wait_s: float = 0.002,
        executor: Executor | None = None,
        observer: Observer | None = None,
        in_progress: Callable[[], int] | None = None,
    ) -> None:
        if max_batch < 1 or max_wait_s < 0:
            raise ValueError("max_batch must be >= 1 and max_wait_s >= 0")
        self._run = run
        self._max_batch = max_batch
        self._max_wait_s = max_wait_s
        self._executor = executor
        self._observer = observer
        self._in_progress = in_progress
        self._model = threading.Lock()
        self._states: dict[asyncio.AbstractEventLoop, _LoopState] = {}
        self.calls: deque[int] = deque(maxlen=1000)  # rows per model call, most recent last

    def __call__(self, signature: str, input_name: str, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Run `rows` through `signature` now, from any thread."""
        return self._locked_run(signature, input_name, np.asarray(rows, dtype=np.float32))

    async def run_async(
        self, signature: str, input_name: str, rows: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Run `rows` through `signature`, sharing the call with concurrent requests."""
        rows = np.asarray(rows, dtype=np.float32)
        loop = asyncio.get_running_loop()
        if len(rows) >= self._max_batch:
            return await loop.run_in_executor(
                self._executor, self._locked_run, signature, input_name, rows
            )
        state = self._states.setdefault(loop, _LoopState())
        future = loop.create_future()
        state.requests.append((signature, input_name, rows, future, time.perf_counter()))
        if not state.in_flight:
            if sum(len(request[2]) for request in state.requests) >= self._max_batch:
                self._start(loop, state)
            else:
                self._schedule(loop, state)
        return await future

    def _schedule(self, loop: asyncio.AbstractEventLoop, state: _LoopState) -> None:
        """Start the next call on the loop's next turn; a busy model first waits a moment
        for requests still on their way to it, but not once every request the process is
        working on has joined (none is left to come)."""
        if state.scheduled is not None and not state.waiting:
            return  # it starts on the next turn already
        all_here = self._in_progress is not None and len(state.requests) >= self._in_progress()
        if all_here or not (state.busy and self._max_wait_s > 0):
            if state.scheduled is not None:
                state.scheduled.cancel()
            state.scheduled, state.waiting = loop.call_soon(self._start, loop, state), False
        elif state.scheduled is None:
            state.scheduled = loop.call_later(self._max_wait_s, self._start, loop, state)
            state.waiting = True

    def _start(self, loop: asyncio.AbstractEventLoop, state: _LoopState) -> None:
        """Send everything pending to the model as one call (on the loop's thread)."""
        if state.scheduled is not None:
            state.scheduled.cancel()
            state.scheduled, state.waiting = None, False
        if state.in_flight or not state.requests:
            return
        taken, rows = 0, 0
        for request in state.requests:  # at most max_batch rows, and at least one request
            if taken and rows + len(request[2]) > self._max_batch:
                break
            taken, rows = taken + 1, rows + len(request[2])
        requests, state.requests = state.requests[:taken], state.requests[taken:]
        state.busy = len(requests) > 1
        # Started from the loop's queue, after every request that was ready to run has
        # reached its model call: one alone, in a process with no other request, is alone.
        alone = (
            taken == 1
            and rows <= INLINE_ROWS
            and self._in_progress is not None
            and self._in_progress() <= 1
        )
        if alone and self._model.acquire(blocking=False):  # else a thread has the model
            try:
                results = self._run_batch(requests, self._unlocked_run)
            finally:
                self._model.release()
            self._deliver(results)
            return
        state.in_flight = True
        call = loop.run_in_executor(self._executor, self._run_batch, requests)
        call.add_done_callback(lambda done: self._finish(loop, state, requests, done))

    def _run_batch(
        self, requests: list[_Request], run: Callable[..., dict] | None = None
    ) -> list[tuple[list[_Request], object]]:
        """One model call per signature (`run`: `_locked_run` unless the caller holds the
        model); each result is outputs or the exception raised."""
        run = run or self._locked_run
        by_signature: dict[str, list[_Request]] = {}
        for request in requests:
            by_signature.setdefault(request[0], []).append(request)
        if self._observer is not None:
            now = time.perf_counter()
            for request in requests:
                self._observer.waited(now - request[4])
        results = []
        for signature, group in by_signature.items():
            try:
                stacked = np.concatenate([request[2] for request in group])
                results.append((group, run(signature, group[0][1], stacked)))
            except Exception as error:  # every waiter must hear about it
                results.append((group, error))
        return results

    def _finish(
        self,
        loop: asyncio.AbstractEventLoop,
        state: _LoopState,
        requests: list[_Request],
        done: asyncio.Future,
    ) -> None:
        state.in_flight = False
        if done.cancelled() or done.exception() is not None:
            error = done.exception() if not done.cancelled() else RuntimeError("call cancelled")
            results = [(requests, error)]
        else:
            results = done.result()
        self._deliver(results)
        if state.requests:  # they waited while the model was busy: go at once
            self._start(loop, state)

    def _deliver(self, results: list[tuple[list[_Request], object]]) -> None:
        """Each waiting request's slice of its call's outputs, or the call's exception."""
        for group, outcome in results:
            start = 0
            for _, _, rows, future, _queued in group:
                end = start + len(rows)
                if not future.done():  # a done one's client went away
                    if isinstance(outcome, BaseException):
                        future.set_exception(outcome)
                    else:
                        future.set_result({key: out[start:end] for key, out in outcome.items()})
                start = end

    def _locked_run(self, signature: str, input_name: str, rows: np.ndarray) -> dict:
        with self._model:
            return self._unlocked_run(signature, input_name, rows)

    def _unlocked_run(self, signature: str, input_name: str, rows: np.ndarray) -> dict:
        self.calls.append(len(rows))
        started = time.perf_counter()
        outputs = self._run(signature, **{input_name: rows})
        if self._observer is not None:
            self._observer.call(len(rows), time.perf_counter() - started)
        return outputs
