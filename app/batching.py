"""Micro-batching: concurrent requests for one model share one LiteRT call.

The API's inference routes are coroutines on one event loop per process, so the
batcher lives on the loop too: a request adds its rows to the pending batch and
waits. The first request of a batch schedules a flush: at once when the service
is quiet, so a lone request is not delayed, or after `max_wait_s` when the last
flush served several requests (the service is under load, and waiting lets more
join). A batch that reaches `max_batch` rows flushes immediately. The flush runs
each signature once over the concatenated rows and gives every request its own
slice, in order. A request that alone fills a batch (a batch upload) runs in a
worker thread instead, so it never stalls the loop.

Every call into the interpreter holds one lock, which makes the model safe to
share with other threads (warm-up, tests) as well.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Runner = Callable[..., dict[str, np.ndarray]]


@dataclass
class _Pending:
    rows: int = 0
    requests: list[tuple[str, str, np.ndarray, asyncio.Future]] = field(default_factory=list)


class MicroBatcher:
    """Batches concurrent calls to one model's `run(signature, **{input: rows})`."""

    def __init__(self, run: Runner, *, max_batch: int = 64, max_wait_s: float = 0.002) -> None:
        if max_batch < 1 or max_wait_s < 0:
            raise ValueError("max_batch must be >= 1 and max_wait_s >= 0")
        self._run = run
        self._max_batch = max_batch
        self._max_wait_s = max_wait_s
        self._model = threading.Lock()
        self._pending: dict[asyncio.AbstractEventLoop, _Pending] = {}
        self._busy = False  # did the last flush serve more than one request?
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
            return await loop.run_in_executor(None, self._locked_run, signature, input_name, rows)
        pending = self._pending.setdefault(loop, _Pending())
        future = loop.create_future()
        pending.requests.append((signature, input_name, rows, future))
        pending.rows += len(rows)
        if len(pending.requests) == 1:
            if self._busy and self._max_wait_s > 0:
                loop.call_later(self._max_wait_s, self._flush, loop, pending)
            else:
                loop.call_soon(self._flush, loop, pending)
        if pending.rows >= self._max_batch:
            self._flush(loop, pending)
        return await future

    def _flush(self, loop: asyncio.AbstractEventLoop, pending: _Pending) -> None:
        if self._pending.get(loop) is not pending:
            return  # already flushed (it filled up before its timer fired)
        del self._pending[loop]
        self._busy = len(pending.requests) > 1
        by_signature: dict[str, list] = {}
        for request in pending.requests:
            by_signature.setdefault(request[0], []).append(request)
        for signature, requests in by_signature.items():
            futures = [request[3] for request in requests]
            try:
                stacked = np.concatenate([request[2] for request in requests])
                outputs = self._locked_run(signature, requests[0][1], stacked)
            except Exception as error:  # every waiter must hear about it
                for future in futures:
                    if not future.done():
                        future.set_exception(error)
                continue
            start = 0
            for _, _, rows, future in requests:
                end = start + len(rows)
                if not future.done():  # the client may have gone away
                    future.set_result({key: value[start:end] for key, value in outputs.items()})
                start = end

    def _locked_run(self, signature: str, input_name: str, rows: np.ndarray) -> dict:
        with self._model:
            self.calls.append(len(rows))
            return self._run(signature, **{input_name: rows})
