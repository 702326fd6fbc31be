"""The body limit, against a real uvicorn process over raw sockets: a declared length over
the limit is refused before any body is sent, and a chunked stream is cut off near it."""

from __future__ import annotations

import json
import re
import socket
import time

import httpx
import pytest

from tests.helpers import api_process, image_bytes

LIMIT = 1024 * 1024
CHUNK = 64 * 1024


@pytest.fixture(scope="module")
def small_server(trained_root, tmp_path_factory):
    environment = {
        "HANDCALC_ARTIFACT_ROOT": str(trained_root),
        "HANDCALC_MAX_BODY_BYTES": str(LIMIT),
    }
    with api_process(tmp_path_factory.mktemp("body-limit"), environment) as (base, log):
        yield int(base.rsplit(":", 1)[1]), log


def _response(connection: socket.socket) -> tuple[int, dict]:
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        piece = connection.recv(65536)
        if not piece:
            break
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body[body.index(b"{") : body.rindex(b"}") + 1])


def _headers(port: int, extra: str) -> bytes:
    boundary = "handcalc-test"
    return (
        f"POST /classify HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n{extra}\r\n"
    ).encode()


def test_a_declared_length_over_the_limit_is_refused_before_the_body(small_server):
    port, _log = small_server
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(_headers(port, f"Content-Length: {64 * 1024 * 1024}\r\n"))
        started = time.monotonic()
        status, body = _response(connection)  # not one byte of the 64 MiB was sent
    assert status == 413
    assert time.monotonic() - started < 1.0
    assert body["detail"] == (
        "the request body is over the limit of 1,048,576 bytes (Content-Length: 67,108,864); "
        "HANDCALC_MAX_BODY_BYTES sets it"
    )


def test_a_chunked_body_is_cut_off_once_past_the_limit(small_server):
    port, log = small_server
    total = 256 * 1024 * 1024
    sent = 0
    chunk = b"%x\r\n" % CHUNK + b"x" * CHUNK + b"\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(_headers(port, "Transfer-Encoding: chunked\r\n"))
        part = (
            b'--handcalc-test\r\nContent-Disposition: form-data; name="image"; '
            b'filename="huge.png"\r\nContent-Type: image/png\r\n\r\n'
        )
        connection.sendall(b"%x\r\n" % len(part) + part + b"\r\n")
        try:
            while sent < total:
                connection.sendall(chunk)
                sent += CHUNK
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        status, body = _response(connection)
    assert status == 413
    assert body["detail"].startswith("the request body is over the limit of 1,048,576 bytes")
    assert sent < total // 8  # the server stopped reading long before the end
    read = [int(n) for n in re.findall(r"body cut off after (\d+) bytes", log.read_text())]
    # what the app read: the limit and one more message, which holds what one socket read
    # brought in (asyncio reads up to 256 KiB at a time)
    assert read and LIMIT < read[-1] <= LIMIT + 256 * 1024


def test_requests_under_the_limit_are_answered_as_before(small_server, digits):
    port, _log = small_server
    x, y = digits
    response = httpx.post(f"http://127.0.0.1:{port}/classify", files={"image": image_bytes(x[3])})
    assert response.status_code == 200 and response.json()["digit"] == y[3]


def test_too_many_parts_are_refused(small_server):
    port, _log = small_server
    fields = {f"field{index}": "1" for index in range(40)}
    response = httpx.post(f"http://127.0.0.1:{port}/classify", data=fields, files={"x": b"1"})
    assert response.status_code == 400
    assert "Too many fields" in response.json()["detail"]
