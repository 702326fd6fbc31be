"""The fast lane: the usual inference requests answered without FastAPI's machinery.

Almost every request to `/classify`, `/add`, `/multiply` or `/compare` is the same: one
small image in each of the route's file fields, perhaps `?model=NAME`. For that request
FastAPI's form parser, dependency resolution and response validation cost more than the
model does. This ASGI layer sits inside the middleware stack (so request ids, metrics,
admission and the body limit apply as to any request) and answers exactly that request
itself: it reads the small body, takes the file parts out of it, calls the route's own
function with them and writes the JSON bytes FastAPI would have written. Anything else
(another route, a batch, another field, a big body) goes on to FastAPI, and so does
every request the route function refuses (a bad image, an unknown model, any error),
with its body replayed: every other answer, error and detail is the route's own.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from io import BytesIO
from urllib.parse import parse_qsl

from fastapi import FastAPI, UploadFile
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.routes import arithmetic, inference
from models.artifacts.names import NAME_PATTERN

MAX_BODY_BYTES = 64 * 1024
"""Bodies up to this size are buffered and tried here (a digit's PNG is a few hundred
bytes); larger ones go straight on, as FastAPI streams them to a temporary file."""

_NAME = re.compile(NAME_PATTERN)
_PARAMETER = re.compile(rb';\s*([A-Za-z0-9_-]+)="?([^";]*)"?')
_JSON_HEADERS = [(b"content-type", b"application/json")]


@dataclass(frozen=True)
class Lane:
    path: str
    """Also what stands for the route in `scope["route"]`: the middlewares read its `path`."""
    fields: frozenset[bytes]
    """The file fields a plain request sends, one part each."""
    route: Callable[..., Awaitable[BaseModel]]
    """The route's function, called with the parts as uploads and the query's `model`."""
    default_model: str | None


def _lanes() -> dict[str, Lane]:
    pair = frozenset({b"a", b"b"})
    routes = [
        ("/classify", frozenset({b"image"}), inference.classify, "classifier"),
        ("/add", pair, arithmetic.add, None),
        ("/multiply", pair, arithmetic.multiply, None),
        ("/compare", pair, arithmetic.compare, None),
    ]
    return {path: Lane(path, *rest) for path, *rest in routes}


LANES = _lanes()


class FastLane:
    """Answers the plain requests of the routes in `LANES`; passes everything else on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = _lane_for(scope)
        if lane is None:
            await self.app(scope, receive, send)
            return
        asked, model = _model_name(scope["query_string"])
        messages, body = await _buffer(receive)
        answer = None
        if asked and body is not None:
            parts = file_parts(body, _header(scope, b"content-type"))
            if parts is not None and set(parts) == lane.fields:
                answer = await _answer(lane, scope["app"], model or lane.default_model, parts)
        if answer is None:
            await self.app(scope, _replaying(messages, receive), send)
            return
        scope["route"] = lane  # the template the access line and the metrics name
        headers = [(b"content-length", str(len(answer)).encode("ascii")), *_JSON_HEADERS]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})


def _lane_for(scope: Scope) -> Lane | None:
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    lane = LANES.get(scope["path"])
    length = _header(scope, b"content-length")
    if lane is None or length is None or not length.isdigit() or int(length) > MAX_BODY_BYTES:
        return None
    return lane


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def _model_name(query: bytes) -> tuple[bool, str | None]:
    """(whether the query is plain, the `model` it names if any): anything but a lone
    well-formed `model` is left for FastAPI to judge."""
    if not query:
        return True, None
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    if len(pairs) == 1 and pairs[0][0] == "model" and _NAME.fullmatch(pairs[0][1]):
        return True, pairs[0][1]
    return False, None


async def _buffer(receive: Receive) -> tuple[list[Message], bytes | None]:
    """The request's messages as received, and its whole body (None when it is not all
    there within `MAX_BODY_BYTES`, e.g. the client went away)."""
    messages, chunks, size = [], [], 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return messages, None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return messages, b"".join(chunks)


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


def file_parts(body: bytes, content_type: bytes | None) -> dict[bytes, tuple[bytes, bytes]] | None:
    """Field name -> (file name, content) of each part of a multipart body, when every part
    is a file with a name of its own; None for any other body (a plain value, a repeated
    field, a preamble or epilogue, a header FastAPI would read: anything unusual)."""
    if content_type is None or not content_type.lower().startswith(b"multipart/form-data"):
        return None
    boundary = dict(_PARAMETER.findall(content_type)).get(b"boundary")
    if not boundary:
        return None
    delimiter = b"\r\n--" + boundary
    if not body.startswith(delimiter[2:] + b"\r\n"):
        return None
    parts: dict[bytes, tuple[bytes, bytes]] = {}
    start = len(delimiter) - 2  # at the line break that ends the first delimiter
    while True:
        head_end = body.find(b"\r\n\r\n", start)
        end = body.find(delimiter, head_end + 4) if head_end >= 0 else -1
        if end < 0:
            return None
        named = _file_field(body[start + 2 : head_end])
        if named is None or named[0] in parts:
            return None
        parts[named[0]] = (named[1], body[head_end + 4 : end])
        after = body[end + len(delimiter) : end + len(delimiter) + 2]
        if after == b"--":
            return parts if not body[end + len(delimiter) + 2 :].strip() else None
        if after != b"\r\n":
            return None
        start = end + len(delimiter)


def _file_field(headers: bytes) -> tuple[bytes, bytes] | None:
    """(field name, file name) of a part's headers when it is a plain file upload."""
    disposition = None
    for line in headers.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        if not colon:
            return None
        name = name.strip().lower()
        if name == b"content-disposition":
            disposition = value.strip()
        elif name != b"content-type":
            return None
    if disposition is None or not disposition.lower().startswith(b"form-data"):
        return None
    parameters = dict(_PARAMETER.findall(disposition))
    if any(key.endswith(b"*") for key in parameters):  # RFC 5987 names: FastAPI's to read
        return None
    if b"name" not in parameters or b"filename" not in parameters:
        return None
    return parameters[b"name"], parameters[b"filename"]


class _InMemory(BytesIO):
    """An upload's bytes, read by `UploadFile` without a trip to a thread (as Starlette
    reads a spooled file that is still in memory)."""

    _rolled = False


def _upload(filename: bytes, content: bytes) -> UploadFile:
    name = filename.decode("utf-8", "replace") or None
    return UploadFile(_InMemory(content), size=len(content), filename=name)


async def _answer(
    lane: Lane, app: FastAPI, model: str | None, parts: dict[bytes, tuple[bytes, bytes]]
) -> bytes | None:
    """The route's JSON answer, or None when the route refuses (it then answers again,
    through FastAPI, in its own words)."""
    uploads = {field.decode("ascii"): _upload(*part) for field, part in parts.items()}
    settings, server = app.state.settings, app.state.server
    try:
        answer = await lane.route(server=server, settings=settings, model=model, **uploads)
    except Exception:  # an HTTPException, an unknown or unloaded model, a failed call
        return None
    return answer.model_dump_json().encode()
