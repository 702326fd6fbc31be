"""A request body limit enforced while the body streams in, not after it is stored.

A request that declares a `Content-Length` over the limit is answered 413 before
any of its body is read. A chunked body (or one that lies about its length) is
counted as it arrives and cut off with 413 as soon as it passes the limit, so the
server reads at most the limit plus one chunk, and the multipart parser never
spools more than that to disk.
"""

from __future__ import annotations

import logging

from fastapi import HTTPException, status
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)


class BodyTooLarge(HTTPException):
    """Raised from `receive` mid-stream; FastAPI passes HTTPExceptions through its body
    parsing unchanged, so the client gets this 413 with its detail."""

    def __init__(self, limit: int) -> None:
        super().__init__(status.HTTP_413_CONTENT_TOO_LARGE, _detail(limit))


def _detail(limit: int, declared: int | None = None) -> str:
    said = f" (Content-Length: {declared:,})" if declared is not None else ""
    return (
        f"the request body is over the limit of {limit:,} bytes{said}; "
        "HANDCALC_MAX_BODY_BYTES sets it"
    )


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            response = JSONResponse(
                {"detail": _detail(self.max_body_bytes, declared)},
                status_code=status.HTTP_413_CONTENT_TOO_LARGE,
                headers={"Connection": "close"},  # the unread body cannot be skipped
            )
            await response(scope, receive, send)
            return
        received = 0
        cut_off = False
        limit = self.max_body_bytes

        async def counted() -> Message:
            nonlocal received, cut_off
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    logger.warning(
                        "413 for %s %s: body cut off after %d bytes (limit %d)",
                        scope["method"],
                        scope["path"],
                        received,
                        limit,
                    )
                    cut_off = True
                    raise BodyTooLarge(limit)
            return message

        async def closing(message: Message) -> None:
            if cut_off and message["type"] == "http.response.start":
                # without it the server would go on reading (and dropping) the rest
                headers = [*message.get("headers", ()), (b"connection", b"close")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, counted, closing)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
