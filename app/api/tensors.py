"""Tensors of the Open Inference Protocol (KServe v2, Triton's HTTP API) in and out of NumPy.

A request is one JSON object, optionally followed by raw tensor bytes (the binary tensor
data extension): `Inference-Header-Content-Length` says where the JSON ends, and each
input sent as bytes says its size in `parameters.binary_data_size`, in the order the
inputs are listed. Binary data is little-endian and row-major. An answer puts an output
in binary when its request asks `binary_data`, or the request asks `binary_data_output`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

DATATYPES: dict[str, np.dtype] = {
    name: np.dtype(dtype).newbyteorder("<")
    for name, dtype in {
        "BOOL": np.bool_,
        "UINT8": np.uint8,
        "UINT16": np.uint16,
        "UINT32": np.uint32,
        "UINT64": np.uint64,
        "INT8": np.int8,
        "INT16": np.int16,
        "INT32": np.int32,
        "INT64": np.int64,
        "FP16": np.float16,
        "FP32": np.float32,
        "FP64": np.float64,
    }.items()
}
DATATYPE_OF: dict[str, str] = {np.dtype(dtype).name: name for name, dtype in DATATYPES.items()}

MAX_RANK = 8


class ProtocolError(Exception):
    """A request the protocol answers with `{"error": message}` and this status."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class RequestedOutput:
    name: str
    binary: bool | None
    """What the output's `binary_data` parameter says; None: the request's default."""


@dataclass(frozen=True)
class InferRequest:
    id: str | None
    inputs: dict[str, np.ndarray]
    datatypes: dict[str, str]
    outputs: tuple[RequestedOutput, ...] | None
    """The outputs asked for, in order; None: every output of the signature."""
    binary_by_default: bool


def parse_infer_request(body: bytes, header_length: str | None) -> InferRequest:
    """The request's inputs as arrays of their declared shape and datatype."""
    json_end = len(body) if header_length is None else _header_length(header_length, len(body))
    try:
        header = json.loads(body[:json_end])
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProtocolError(f"the request is not a JSON inference request: {error}") from None
    if not isinstance(header, dict):
        raise ProtocolError("the inference request must be a JSON object")
    parameters = _object(header.get("parameters"), "parameters")
    inputs = header.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise ProtocolError("'inputs' must be a non-empty list of tensors")
    arrays: dict[str, np.ndarray] = {}
    datatypes: dict[str, str] = {}
    offset = json_end
    for position, tensor in enumerate(inputs):
        if not isinstance(tensor, dict):
            raise ProtocolError(f"inputs[{position}] must be an object")
        name, shape, datatype = _describe(tensor, f"inputs[{position}]")
        if name in arrays:
            raise ProtocolError(f"input {name!r} is given twice", 422)
        size = _object(tensor.get("parameters"), f"input {name!r} parameters").get(
            "binary_data_size"
        )
        if size is not None:
            if not _is_whole(size) or size < 0:
                raise ProtocolError(f"input {name!r}: binary_data_size must be a byte count", 422)
            size = int(size)
            if offset + size > len(body):
                raise ProtocolError(
                    f"input {name!r} says {size} bytes of binary data, but the body has "
                    f"{len(body) - offset} left after the JSON header",
                    422,
                )
            arrays[name] = _from_bytes(body[offset : offset + size], shape, datatype, name)
            offset += size
        else:
            arrays[name] = _from_json(tensor.get("data"), shape, datatype, name)
        datatypes[name] = datatype
    if offset != len(body):
        raise ProtocolError(
            f"{len(body) - offset} bytes follow the JSON header that no input's "
            "binary_data_size accounts for",
            422,
        )
    return InferRequest(
        id=_request_id(header.get("id")),
        inputs=arrays,
        datatypes=datatypes,
        outputs=_requested_outputs(header.get("outputs")),
        binary_by_default=parameters.get("binary_data_output") is True,
    )


def encode_infer_response(
    header: dict[str, Any], outputs: list[tuple[str, np.ndarray, bool]]
) -> tuple[bytes, int | None]:
    """The answer's body, and the JSON header's length when binary tensors follow it."""
    tensors = []
    blobs = []
    for name, array, binary in outputs:
        datatype = DATATYPE_OF[array.dtype.name]
        tensor: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(array.shape)}
        if binary:
            blob = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
            tensor["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            tensor["data"] = array.reshape(-1).tolist()
        tensors.append(tensor)
    text = json.dumps({**header, "outputs": tensors}, separators=(",", ":")).encode()
    if not blobs:
        return text, None
    return b"".join([text, *blobs]), len(text)


def _header_length(value: str, body_length: int) -> int:
    try:
        length = int(value)
    except ValueError:
        length = -1
    if not 0 < length <= body_length:
        raise ProtocolError(
            f"Inference-Header-Content-Length must be the JSON header's size in bytes, between "
            f"1 and the body's {body_length}; got {value!r}"
        )
    return length


def _object(value: object, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProtocolError(f"{what} must be an object")
    return value


def _describe(tensor: dict, where: str) -> tuple[str, tuple[int, ...], str]:
    name = tensor.get("name")
    if not isinstance(name, str) or not name:
        raise ProtocolError(f"{where} needs a 'name'")
    shape = tensor.get("shape")
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_RANK
        or not all(_is_whole(size) and size >= 0 for size in shape)
    ):
        raise ProtocolError(
            f"input {name!r}: 'shape' must be a list of at most {MAX_RANK} sizes >= 0"
        )
    datatype = tensor.get("datatype")
    if datatype not in DATATYPES:
        raise ProtocolError(
            f"input {name!r}: datatype {datatype!r} is not one of {', '.join(DATATYPES)}"
        )
    return name, tuple(int(size) for size in shape), datatype


def _is_whole(value: object) -> bool:
    """An integer as JSON Schema counts them: 3 and 3.0 are, True is not."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _from_bytes(blob: bytes, shape: tuple[int, ...], datatype: str, name: str) -> np.ndarray:
    dtype = DATATYPES[datatype]
    expected = math.prod(shape) * dtype.itemsize
    if len(blob) != expected:
        raise ProtocolError(
            f"input {name!r}: {len(blob)} bytes of binary data, but shape {list(shape)} of "
            f"{datatype} needs {expected}",
            422,
        )
    return np.frombuffer(blob, dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _from_json(data: object, shape: tuple[int, ...], datatype: str, name: str) -> np.ndarray:
    if not isinstance(data, list):
        raise ProtocolError(
            f"input {name!r} needs 'data' (a list of numbers) or parameters.binary_data_size",
            422,
        )
    dtype = DATATYPES[datatype].newbyteorder("=")
    try:
        array = np.asarray(data)
        if array.dtype == object or array.dtype.kind not in "biuf":
            raise ValueError("not a list of numbers")
        if datatype != "BOOL" and array.dtype.kind == "b":
            raise ValueError("true and false are data of BOOL tensors only")
        if dtype.kind in "iu" and array.dtype.kind == "f":
            raise ValueError(f"{datatype} data must be whole numbers")
        converted = array.astype(dtype)
    except (ValueError, TypeError, OverflowError) as error:
        raise ProtocolError(
            f"input {name!r}: 'data' must be {datatype} numbers ({error})", 422
        ) from None
    if converted.size != math.prod(shape):
        raise ProtocolError(
            f"input {name!r}: {converted.size} values given, but shape {list(shape)} holds "
            f"{math.prod(shape)}",
            422,
        )
    return converted.reshape(shape)


def _request_id(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProtocolError("'id' must be a string")
    return value


def _requested_outputs(value: object) -> tuple[RequestedOutput, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ProtocolError("'outputs' must be a list of {name, parameters} objects")
    requested = []
    for position, output in enumerate(value):
        if not isinstance(output, dict) or not isinstance(output.get("name"), str):
            raise ProtocolError(f"outputs[{position}] must be an object with a 'name'")
        parameters = _object(output.get("parameters"), f"outputs[{position}].parameters")
        if parameters.get("classification"):
            raise ProtocolError("the classification extension is not supported", 422)
        binary = parameters.get("binary_data")
        if binary is not None and not isinstance(binary, bool):
            raise ProtocolError(f"outputs[{position}]: binary_data must be true or false", 422)
        requested.append(RequestedOutput(output["name"], binary))
    return tuple(requested)
