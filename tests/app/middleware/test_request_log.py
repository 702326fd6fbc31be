"""The request-id middleware around a real ASGI app, failures included."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from app.middleware.request_log import RequestLogMiddleware, request_id
from models.logs import context


def test_a_client_id_is_kept_only_when_short_and_printable():
    assert request_id([(b"x-request-id", b"abc-123")]) == "abc-123"
    assert request_id([(b"x-request-id", b"~" * 200)]) == "~" * 200
    for bad in (b"", b"x" * 201, b"tab\there", "é".encode()):
        generated = request_id([(b"x-request-id", bad)])
        assert len(generated) == 32 and int(generated, 16) >= 0
    assert request_id([]) != request_id([])


def _app(seen: list[dict]) -> Starlette:
    async def fine(request):
        seen.append(context())
        return PlainTextResponse("fine")

    async def broken(request):
        seen.append(context())
        raise RuntimeError("the route broke")

    routes = [Route("/fine/{name}", fine), Route("/broken", broken)]
    # inside Starlette's own error middleware, as `app.add_middleware` places it
    return Starlette(routes=routes, middleware=[Middleware(RequestLogMiddleware, access_log=True)])


def test_the_id_is_in_the_context_the_response_and_the_access_line(caplog):
    seen: list[dict] = []
    with caplog.at_level(logging.INFO), TestClient(_app(seen)) as client:
        response = client.get("/fine/x", headers={"X-Request-ID": "req-7"})
    assert response.headers["x-request-id"] == "req-7"
    assert seen == [{"request_id": "req-7", "method": "GET", "path": "/fine/x"}]
    (record,) = [r for r in caplog.records if r.name == "app.access"]
    assert record.route == "/fine/{name}" and record.status == 200 and record.duration_ms > 0
    assert context() == {}  # nothing leaks out of the request


def test_an_unhandled_error_is_logged_with_the_id_and_answered_with_it(caplog):
    seen: list[dict] = []
    client = TestClient(_app(seen), raise_server_exceptions=False)
    with caplog.at_level(logging.INFO), client:
        response = client.get("/broken", headers={"X-Request-ID": "req-8"})
    assert response.status_code == 500 and response.headers["x-request-id"] == "req-8"
    assert response.json() == {"detail": "internal server error"}
    (error,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "the route broke" in caplog.text and error.exc_info is not None
    (access,) = [r for r in caplog.records if r.name == "app.access"]
    assert access.status == 500
