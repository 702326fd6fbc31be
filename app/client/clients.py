"""`Client` and `AsyncClient`: the routes of `calls`, sent over httpx.

Each route is written once, in `calls`; `Route` makes it a method of both clients, which
differ only in how they send: the sync client returns the answer, the async one a
coroutine of it.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Generic, ParamSpec, TypeVar, overload

import httpx

from app.client import calls
from app.client.errors import Unreachable
from app.client.results import Job

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_URL = "http://127.0.0.1:8000"
URL_VARIABLE = "HANDCALC_URL"
TOKEN_VARIABLE = "HANDCALC_API_TOKEN"
Progress = Callable[[Job], object]


class Route(Generic[P, T]):
    """A method of both clients made from a request builder of `calls`."""

    def __init__(self, build: Callable[P, calls.Call[T]]) -> None:
        self.build = build
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, client: None, owner: type) -> Route[P, T]: ...
    @overload
    def __get__(self, client: Client, owner: type) -> Callable[P, T]: ...
    @overload
    def __get__(self, client: AsyncClient, owner: type) -> Callable[P, Awaitable[T]]: ...
    def __get__(self, client: Any, owner: type) -> Any:
        if client is None:
            return self
        build = self.build

        @functools.wraps(build)
        def method(*args: P.args, **kwargs: P.kwargs) -> Any:
            return client._send(build(*args, **kwargs))

        return method


class _Routes:
    """What both clients share: where the API is, the token, and every route."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.url = (url or os.environ.get(URL_VARIABLE) or DEFAULT_URL).rstrip("/")
        token = token or os.environ.get(TOKEN_VARIABLE)
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        self._options: dict[str, Any] = {
            "base_url": self.url,
            "timeout": timeout,
            "headers": {**auth, **(headers or {})},
        }

    classify = Route(calls.classify)
    classify_many = Route(calls.classify_many)
    encode = Route(calls.encode)
    decode = Route(calls.decode)
    decode_image = Route(calls.decode_image)
    generate = Route(calls.generate)
    generate_image = Route(calls.generate_image)
    interpolate = Route(calls.interpolate)
    interpolate_image = Route(calls.interpolate_image)
    read = Route(calls.read)
    add = Route(calls.add)
    multiply = Route(calls.multiply)
    compare = Route(calls.compare)
    submit = Route(calls.submit)
    job = Route(calls.job)
    jobs = Route(calls.jobs)
    cancel = Route(calls.cancel)
    models = Route(calls.models)
    activate = Route(calls.activate)
    delete = Route(calls.delete)
    health = Route(calls.health)
    ready = Route(calls.ready)


class _Watch:
    """Waiting for a job: progress reports when something changed, and the time limit."""

    def __init__(self, on_progress: Progress | None, timeout: float | None) -> None:
        self.on_progress = on_progress
        self.timeout = timeout
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.seen: tuple | None = None

    def done(self, job: Job) -> bool:
        seen = (job.state, job.progress, len(job.history))
        if self.on_progress is not None and seen != self.seen:
            self.on_progress(job)
        self.seen = seen
        if job.finished:
            return True
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise TimeoutError(f"job {job.id} is still {job.state} after {self.timeout:g} s")
        return False


class Client(_Routes):
    """The handcalc API, synchronously. `url` defaults to $HANDCALC_URL (else
    http://127.0.0.1:8000), `token` to $HANDCALC_API_TOKEN; errors raise `ApiError`."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(url, token, timeout=timeout, headers=headers)
        self._http = httpx.Client(**self._options)

    def _send(self, call: calls.Call[T]) -> T:
        try:
            response = self._http.request(**call.request())
        except httpx.TransportError as error:
            raise Unreachable(self.url, error) from error
        return call.answer(response)

    def wait(
        self,
        job_id: str,
        on_progress: Progress | None = None,
        timeout: float | None = None,
        interval: float = 0.5,
    ) -> Job:
        """Poll a job until it succeeds, fails or is cancelled; `on_progress(job)` whenever
        its state or progress changed. `TimeoutError` after `timeout` seconds."""
        watch = _Watch(on_progress, timeout)
        while not watch.done(job := self.job(job_id)):
            time.sleep(interval)
        return job

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType
    ) -> None:
        self.close()


class AsyncClient(_Routes):
    """The handcalc API for asyncio: the same methods as `Client`, each to be awaited."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(url, token, timeout=timeout, headers=headers)
        self._http = httpx.AsyncClient(**self._options)

    async def _send(self, call: calls.Call[T]) -> T:
        try:
            response = await self._http.request(**call.request())
        except httpx.TransportError as error:
            raise Unreachable(self.url, error) from error
        return call.answer(response)

    async def wait(
        self,
        job_id: str,
        on_progress: Progress | None = None,
        timeout: float | None = None,
        interval: float = 0.5,
    ) -> Job:
        """As `Client.wait`, without blocking the event loop."""
        watch = _Watch(on_progress, timeout)
        while not watch.done(job := await self.job(job_id)):
            await asyncio.sleep(interval)
        return job

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType
    ) -> None:
        await self.aclose()
