"""The fast lane: the usual `/classify` request answered without FastAPI's machinery.

Almost every request to `/classify` is the same: one small image in the multipart field
`image`, perhaps `?model=NAME`. For that request FastAPI's form parser, upload objects,
dependency resolution and response validation cost more than the model does. This ASGI
layer sits inside the middleware stack (so request ids, metrics, admission and the body
limit apply as to any request) and answers exactly that request itself: it reads the
small body, takes the one file part out of it, prepares it with `models.preprocess`,
runs the model through the same micro-batcher and writes the same JSON bytes the route
would. Anything else (another route, a batch, another field, a big body, a bad image,
an unknown model, any error) goes on to FastAPI with the body replayed, so every other
answer, error and detail is the route's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.schemas import Classification, model_ref
from models.artifacts.names import NAME_PATTERN
from models.preprocess import ImageError, preprocess

PATH = "/classify"
FIELD = b"image"
MAX_BODY_BYTES = 64 * 1024
"""Bodies up to this size are buffered and tried here (a digit's PNG is a few hundred
bytes); larger ones go straight on, as FastAPI streams them to a temporary file."""

_NAME = re.compile(NAME_PATTERN)
_PARAMETER = re.compile(rb';\s*([A-Za-z0-9_-]+)="?([^";]*)"?')
_JSON_HEADERS = [(b"content-type", b"application/json")]


@dataclass(frozen=True)
class LaneRoute:
    """Stands for the route in `scope["route"]`, whose `path` the middlewares read."""

    path: str


ROUTE = LaneRoute(PATH)


class FastLane:
    """Answers the plain single-image `/classify` request; passes everything else on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _candidate(scope):
            await self.app(scope, receive, send)
            return
        model = _model_name(scope["query_string"])
        messages, body = await _buffer(receive)
        answer = None
        if model is not None and body is not None:
            data = single_file(body, _header(scope, b"content-type"), FIELD)
            if data is not None:
                answer = await _classify(scope["app"], model, data)
        if answer is None:
            await self.app(scope, _replaying(messages, receive), send)
            return
        scope["route"] = ROUTE  # the template the access line and the metrics name
        headers = [(b"content-length", str(len(answer)).encode("ascii")), *_JSON_HEADERS]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})


def _candidate(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
        return False
    length = _header(scope, b"content-length")
    return length is not None and length.isdigit() and int(length) <= MAX_BODY_BYTES


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def _model_name(query: bytes) -> str | None:
    """The `model` asked for (the route's default without a query); None: let FastAPI judge."""
    if not query:
        return "classifier"
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    if len(pairs) == 1 and pairs[0][0] == "model" and _NAME.fullmatch(pairs[0][1]):
        return pairs[0][1]
    return None


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


def single_file(body: bytes, content_type: bytes | None, field: bytes) -> bytes | None:
    """The content of the multipart body's only part when it is a file in `field`; None for
    any other body (more parts, another field, a plain value, anything unusual)."""
    if content_type is None or not content_type.lower().startswith(b"multipart/form-data"):
        return None
    parameters = dict(_PARAMETER.findall(content_type))
    boundary = parameters.get(b"boundary")
    if not boundary:
        return None
    delimiter = b"--" + boundary
    if not body.startswith(delimiter + b"\r\n"):
        return None
    head_end = body.find(b"\r\n\r\n", len(delimiter) + 2)
    if head_end < 0:
        return None
    end = body.find(b"\r\n" + delimiter, head_end + 4)
    if end < 0 or body[end + 2 + len(delimiter) :].strip() != b"--":
        return None
    if not _is_file_in(body[len(delimiter) + 2 : head_end], field):
        return None
    return body[head_end + 4 : end]


def _is_file_in(headers: bytes, field: bytes) -> bool:
    disposition = None
    for line in headers.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        if not colon:
            return False
        name = name.strip().lower()
        if name == b"content-disposition":
            disposition = value.strip()
        elif name != b"content-type":
            return False
    if disposition is None or not disposition.lower().startswith(b"form-data"):
        return False
    parameters = dict(_PARAMETER.findall(disposition))
    encoded = any(key.endswith(b"*") for key in parameters)  # RFC 5987 names: FastAPI's
    return parameters.get(b"name") == field and b"filename" in parameters and not encoded


async def _classify(app: FastAPI, model: str, data: bytes) -> bytes | None:
    """The route's JSON answer for one image, or None for anything that is not plain."""
    settings, server = app.state.settings, app.state.server
    if len(data) > settings.max_upload_bytes:
        return None
    try:
        image = preprocess(data, max_pixels=settings.max_pixels)
        served = server.for_route("classify", model)
        probabilities = (await served.infer_async("classify", image[None]))["probabilities"][0]
    except ImageError:
        return None  # the route says what was wrong with it, in its own words
    except Exception:  # an unknown or unloaded model, a failed call: the route answers it
        return None
    answer = Classification(
        digit=int(probabilities.argmax()),
        probabilities=probabilities.tolist(),
        model=model_ref(served),
    )
    return answer.model_dump_json().encode()
