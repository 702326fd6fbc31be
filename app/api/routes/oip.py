"""The Open Inference Protocol (KServe v2, Triton's HTTP/REST API) over the served models.

Every name the API serves is a protocol model; its loaded version is the one version
it answers for. A model's inputs and outputs are those of its LiteRT signatures: the
input a request names picks the signature (`image` encodes or classifies, `latent`
decodes, `images` is a head's pair), and the answer holds that signature's outputs.
Inputs are the 28x28 float images the REST routes make from uploads (ink 1, paper 0),
and go through the same micro-batching. Errors are `{"error": "..."}`, as the protocol
says: 400 for a body that is not an inference request, 404 for unknown names and
versions, 422 for tensors that do not fit the model, 503 while a model is not loaded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from app import __version__
from app.api.deps import ServerDep, SettingsDep
from app.api.errors import ErrorBody
from app.api.tensors import DATATYPE_OF, ProtocolError, encode_infer_response, parse_infer_request
from app.serving.server import ModelServer, Served
from models.runtime import SignatureSpec, TensorSpec

PLATFORM = "litert"
EXTENSIONS = ["binary_tensor_data"]


class ProtocolErrorBody(BaseModel):
    error: str


class TensorMetadata(BaseModel):
    name: str
    datatype: str
    shape: list[int] = Field(description="-1 where any size goes (the batch).")


class ModelMetadata(BaseModel):
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class ServerMetadata(BaseModel):
    name: str
    version: str
    extensions: list[str]


class Liveness(BaseModel):
    live: bool


class ServerReadiness(BaseModel):
    ready: bool


class ModelReadiness(BaseModel):
    name: str
    version: str
    ready: bool


def _error(description: str) -> dict[str, Any]:
    return {"model": ProtocolErrorBody, "description": description}


_MODEL_ERRORS = {
    404: _error("No served model of that name, or it serves another version."),
    503: {
        "model": ProtocolErrorBody | ErrorBody,
        "description": "The model is not loaded (`error`), or the process is at capacity.",
    },
}
_INFER_BODY = {
    "requestBody": {
        "required": True,
        "description": "An inference request; with the binary tensor data extension, raw "
        "tensor bytes follow the JSON (`Inference-Header-Content-Length`).",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["inputs"],
                    "properties": {
                        "id": {"type": "string"},
                        "parameters": {"type": "object"},
                        "inputs": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "required": ["name", "shape", "datatype"],
                                "properties": {
                                    "name": {"type": "string", "minLength": 1},
                                    "shape": {
                                        "type": "array",
                                        "maxItems": 8,
                                        "items": {"type": "integer", "minimum": 0},
                                    },
                                    "datatype": {
                                        "type": "string",
                                        "enum": sorted(DATATYPE_OF.values()),
                                    },
                                    "parameters": {"type": "object"},
                                    "data": {"type": "array"},
                                },
                            },
                        },
                        "outputs": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "parameters": {"type": "object"},
                                },
                            },
                        },
                    },
                }
            }
        },
    }
}

router = APIRouter(
    prefix="/v2",
    tags=["open inference protocol"],
    responses={400: _error("The body is not an inference request.")},
)


@router.get("", response_model=ServerMetadata, summary="Server metadata")
async def server_metadata() -> ServerMetadata:
    return ServerMetadata(name="handcalc", version=__version__, extensions=EXTENSIONS)


@router.get("/health/live", response_model=Liveness, summary="The server is alive")
async def server_live() -> Liveness:
    return Liveness(live=True)


@router.get(
    "/health/ready",
    response_model=ServerReadiness,
    summary="Every model is loaded",
    responses={503: _MODEL_ERRORS[503]},
)
async def server_ready(server: ServerDep) -> ServerReadiness | JSONResponse:
    missing = [name for name, version in server.status().items() if version is None]
    if missing:
        raise ProtocolError(f"not ready, models not loaded: {', '.join(missing)}", 503)
    return ServerReadiness(ready=True)


@router.get(
    "/models/{name}",
    response_model=ModelMetadata,
    summary="A model's inputs and outputs",
    responses=_MODEL_ERRORS,
)
async def model_metadata(server: ServerDep, name: str) -> ModelMetadata:
    return _metadata(_served(server, name, None))


@router.get(
    "/models/{name}/versions/{version}",
    response_model=ModelMetadata,
    summary="A model version's inputs and outputs",
    responses=_MODEL_ERRORS,
)
async def version_metadata(server: ServerDep, name: str, version: str) -> ModelMetadata:
    return _metadata(_served(server, name, version))


@router.get(
    "/models/{name}/ready",
    response_model=ModelReadiness,
    summary="The model is loaded",
    responses=_MODEL_ERRORS,
)
async def model_ready(server: ServerDep, name: str) -> ModelReadiness:
    served = _served(server, name, None)
    return ModelReadiness(name=name, version=str(served.version), ready=True)


@router.get(
    "/models/{name}/versions/{version}/ready",
    response_model=ModelReadiness,
    summary="The model version is loaded",
    responses=_MODEL_ERRORS,
)
async def version_ready(server: ServerDep, name: str, version: str) -> ModelReadiness:
    served = _served(server, name, version)
    return ModelReadiness(name=name, version=str(served.version), ready=True)


_INFER_RESPONSES = {
    **_MODEL_ERRORS,
    200: {
        "description": "The outputs, as JSON or (binary tensor data extension) as the JSON "
        "header followed by raw tensor bytes.",
        "content": {"application/octet-stream": {}},
    },
    422: _error("The tensors do not fit the model: names, datatypes, shapes or values."),
}


@router.post(
    "/models/{name}/infer",
    summary="Run the model",
    responses=_INFER_RESPONSES,
    openapi_extra=_INFER_BODY,
)
async def infer(request: Request, server: ServerDep, settings: SettingsDep, name: str) -> Response:
    return await _infer(request, server, settings.max_batch_images, name, None)


@router.post(
    "/models/{name}/versions/{version}/infer",
    summary="Run a model version",
    responses=_INFER_RESPONSES,
    openapi_extra=_INFER_BODY,
)
async def infer_version(
    request: Request, server: ServerDep, settings: SettingsDep, name: str, version: str
) -> Response:
    return await _infer(request, server, settings.max_batch_images, name, version)


async def _infer(
    request: Request, server: ModelServer, max_rows: int, name: str, version: str | None
) -> Response:
    served = _served(server, name, version)
    encoding = request.headers.get("content-encoding", "identity").lower()
    if encoding != "identity":
        raise ProtocolError(f"Content-Encoding {encoding!r} is not supported; send identity", 415)
    parsed = parse_infer_request(
        await request.body(), request.headers.get("inference-header-content-length")
    )
    signature, spec = _signature_for(served, parsed.inputs)
    (tensor,) = spec.inputs
    rows = _checked(tensor, parsed.inputs[tensor.name], parsed.datatypes[tensor.name], max_rows)
    results = await served.infer_async(signature, rows)
    produced = {output.name: output for output in spec.outputs}
    if parsed.outputs is None:
        chosen = [(output.name, parsed.binary_by_default) for output in spec.outputs]
    else:
        chosen = []
        for output in parsed.outputs:
            if output.name not in produced:
                raise ProtocolError(
                    f"output {output.name!r} is not one that input {tensor.name!r} gives; "
                    f"it gives {', '.join(produced)}",
                    422,
                )
            binary = parsed.binary_by_default if output.binary is None else output.binary
            chosen.append((output.name, binary))
    header: dict[str, Any] = {"model_name": served.name, "model_version": str(served.version)}
    if parsed.id is not None:
        header["id"] = parsed.id
    body, header_length = encode_infer_response(
        header, [(output, results[output], binary) for output, binary in chosen]
    )
    if header_length is None:
        return Response(body, media_type="application/json")
    return Response(
        body,
        media_type="application/octet-stream",
        headers={"Inference-Header-Content-Length": str(header_length)},
    )


def _served(server: ModelServer, name: str, version: str | None) -> Served:
    served = server.loaded(name)
    if served is None:
        if name in server.status():
            reason = server.failure(name) or "it has no trained version yet"
            raise ProtocolError(f"model {name!r} is not loaded: {reason}", 503)
        names = ", ".join(n for n, v in server.status().items() if v is not None)
        raise ProtocolError(f"unknown model {name!r}; the served models are: {names}", 404)
    if version is not None and version != str(served.version):
        raise ProtocolError(
            f"model {name!r} has no loaded version {version!r}; it serves version {served.version}",
            404,
        )
    return served


def _metadata(served: Served) -> ModelMetadata:
    inputs: dict[str, TensorSpec] = {}
    outputs: dict[str, TensorSpec] = {}
    for spec in served.model.specs.values():
        inputs.update({tensor.name: tensor for tensor in spec.inputs})
        outputs.update({tensor.name: tensor for tensor in spec.outputs})
    return ModelMetadata(
        name=served.name,
        versions=[str(served.version)],
        platform=PLATFORM,
        inputs=[_tensor_metadata(tensor) for tensor in inputs.values()],
        outputs=[_tensor_metadata(tensor) for tensor in outputs.values()],
    )


def _tensor_metadata(tensor: TensorSpec) -> TensorMetadata:
    return TensorMetadata(
        name=tensor.name, datatype=DATATYPE_OF[tensor.dtype.name], shape=list(tensor.shape)
    )


def _signature_for(served: Served, inputs: dict[str, np.ndarray]) -> tuple[str, SignatureSpec]:
    for signature, spec in served.model.specs.items():
        if {tensor.name for tensor in spec.inputs} == set(inputs):
            return signature, spec
    takes = " or ".join(
        repr(tensor.name) for spec in served.model.specs.values() for tensor in spec.inputs
    )
    raise ProtocolError(
        f"model {served.name!r} takes one input, {takes}; got {', '.join(map(repr, inputs))}",
        422,
    )


def _checked(tensor: TensorSpec, array: np.ndarray, datatype: str, max_rows: int) -> np.ndarray:
    expected = DATATYPE_OF[tensor.dtype.name]
    if datatype != expected:
        raise ProtocolError(f"input {tensor.name!r} is {expected}, not {datatype}", 422)
    fits = len(array.shape) == len(tensor.shape) and all(
        wanted in (-1, given) for wanted, given in zip(tensor.shape, array.shape, strict=True)
    )
    if not fits:
        raise ProtocolError(
            f"input {tensor.name!r} has shape {list(tensor.shape)} (-1: any batch size); "
            f"got {list(array.shape)}",
            422,
        )
    if not 1 <= len(array) <= max_rows:
        raise ProtocolError(
            f"input {tensor.name!r}: send between 1 and {max_rows} rows; got {len(array)}", 422
        )
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ProtocolError(f"input {tensor.name!r} holds NaN or infinite values", 422)
    return array
