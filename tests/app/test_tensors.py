"""Open Inference Protocol tensors to NumPy and back, JSON and binary."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.api.tensors import ProtocolError, encode_infer_response, parse_infer_request


def _request(*inputs: dict, **extra) -> bytes:
    return json.dumps({"inputs": list(inputs), **extra}).encode()


def test_json_data_flat_or_nested_becomes_the_declared_shape(digits):
    image = digits[0][0].astype(np.float32) / 255
    flat = {
        "name": "image",
        "shape": [1, 28, 28],
        "datatype": "FP32",
        "data": image.ravel().tolist(),
    }
    nested = {**flat, "data": image[None].tolist()}
    for tensor in (flat, nested):
        parsed = parse_infer_request(_request(tensor), None)
        np.testing.assert_array_equal(parsed.inputs["image"], image[None])
        assert parsed.inputs["image"].dtype == np.float32
        assert parsed.outputs is None and not parsed.binary_by_default


def test_binary_inputs_follow_the_header_in_order(digits):
    first = digits[0][:2].astype(np.float32) / 255
    second = np.arange(6, dtype=np.int64).reshape(2, 3)
    header = _request(
        {"name": "a", "shape": [2, 28, 28], "datatype": "FP32",
         "parameters": {"binary_data_size": first.nbytes}},
        {"name": "b", "shape": [2, 3], "datatype": "INT64",
         "parameters": {"binary_data_size": second.nbytes}},
        outputs=[{"name": "x", "parameters": {"binary_data": True}}, {"name": "y"}],
        parameters={"binary_data_output": False},
        id="r1",
    )  # fmt: skip
    body = header + first.tobytes() + second.astype("<i8").tobytes()
    parsed = parse_infer_request(body, str(len(header)))
    np.testing.assert_array_equal(parsed.inputs["a"], first)
    np.testing.assert_array_equal(parsed.inputs["b"], second)
    assert parsed.id == "r1"
    assert [(o.name, o.binary) for o in parsed.outputs] == [("x", True), ("y", None)]


def test_response_puts_binary_outputs_after_the_header():
    units = np.linspace(0, 1, 20, dtype=np.float32).reshape(2, 10)
    tens = np.array([[0.25, 0.75], [1.0, 0.0]], np.float32)
    body, header_length = encode_infer_response(
        {"model_name": "add", "model_version": "1"}, [("units", units, True), ("tens", tens, False)]
    )
    header = json.loads(body[:header_length])
    assert header["outputs"][0] == {
        "name": "units", "datatype": "FP32", "shape": [2, 10],
        "parameters": {"binary_data_size": 80},
    }  # fmt: skip
    np.testing.assert_array_equal(np.frombuffer(body[header_length:], "<f4").reshape(2, 10), units)
    assert header["outputs"][1]["data"] == tens.ravel().tolist()
    text, length = encode_infer_response({"model_name": "add"}, [("tens", tens, False)])
    assert length is None and json.loads(text)["outputs"][0]["shape"] == [2, 2]


@pytest.mark.parametrize(
    ("body", "header_length", "status", "words"),
    [
        (b"[1, 2]", None, 400, "must be a JSON object"),
        (b'{"inputs": [{"name": "x", "shape": [2], "datatype": "FP8", "data": [1, 2]}]}', None,
         400, "datatype 'FP8'"),
        (b'{"inputs": [{"name": "x", "shape": [-1], "datatype": "FP32", "data": [1]}]}', None,
         400, "sizes >= 0"),
        (b'{"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": ["a", "b"]}]}',
         None, 422, "must be FP32 numbers"),
        (b'{"inputs": [{"name": "x", "shape": [2], "datatype": "INT32", "data": [1.5, 2]}]}',
         None, 422, "whole numbers"),
        (b'{"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [[1], [2, 3]]}]}',
         None, 422, "must be FP32 numbers"),
        (b'{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}xyz', "74",
         422, "3 bytes follow"),
        (b'{"inputs": []}', "99", 400, "Inference-Header-Content-Length"),
    ],
)  # fmt: skip
def test_malformed_requests_say_what_is_wrong(body, header_length, status, words):
    with pytest.raises(ProtocolError) as raised:
        parse_infer_request(body, header_length)
    assert raised.value.status_code == status
    assert words in str(raised.value)
