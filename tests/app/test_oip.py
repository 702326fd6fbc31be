"""The Open Inference Protocol, spoken to a real uvicorn server by Triton's own HTTP client:
the same numbers as the REST routes, in JSON and in binary tensors, and protocol errors."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from models.preprocess import preprocess
from tests.helpers import api_process, image_bytes

COUNT = 12


@pytest.fixture(scope="module")
def server(trained_root, tmp_path_factory):
    folder = tmp_path_factory.mktemp("oip")
    environment = {"HANDCALC_ARTIFACT_ROOT": str(trained_root)}
    with api_process(folder, environment) as (base, _log):
        yield base


@pytest.fixture(scope="module")
def triton_client(server):
    client = triton.InferenceServerClient(server.removeprefix("http://"))
    yield client
    client.close()


@pytest.fixture(scope="module")
def uploads(mnist):
    images, labels = mnist[1]
    pngs = [image_bytes(image) for image in images[:COUNT]]
    return pngs, np.stack([preprocess(png) for png in pngs]).astype(np.float32), labels[:COUNT]


def _input(name: str, array: np.ndarray, binary: bool) -> triton.InferInput:
    tensor = triton.InferInput(name, list(array.shape), "FP32")
    tensor.set_data_from_numpy(array, binary_data=binary)
    return tensor


def test_health_and_metadata(triton_client):
    assert triton_client.is_server_live()
    assert triton_client.is_server_ready()
    assert triton_client.is_model_ready("classifier")
    assert triton_client.is_model_ready("classifier", "1")
    assert not triton_client.is_model_ready("classifier", "7")
    assert not triton_client.is_model_ready("no-such-model")
    assert "binary_tensor_data" in triton_client.get_server_metadata()["extensions"]
    metadata = triton_client.get_model_metadata("autoencoder", "1")
    assert metadata["versions"] == ["1"]
    assert {t["name"]: t["shape"] for t in metadata["inputs"]} == {
        "image": [-1, 28, 28],
        "latent": [-1, 32],  # tests/conftest.py trains a 32-long latent
    }
    assert {t["name"]: t["datatype"] for t in metadata["outputs"]} == {
        "latent": "FP32",
        "pixels": "FP32",
    }
    head = triton_client.get_model_metadata("add")
    assert head["inputs"] == [{"name": "images", "datatype": "FP32", "shape": [-1, 2, 28, 28]}]


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_classify_gives_what_rest_gives(triton_client, server, uploads, binary):
    pngs, batch, labels = uploads
    result = triton_client.infer(
        "classifier",
        [_input("image", batch, binary)],
        outputs=[triton.InferRequestedOutput("probabilities", binary_data=binary)],
        request_id="batch-1",
    )
    probabilities = result.as_numpy("probabilities")
    assert probabilities.shape == (COUNT, 10)
    assert result.get_response()["id"] == "batch-1"
    rest = httpx.post(
        f"{server}/classify",
        files=[("images", (f"{i}.png", png, "image/png")) for i, png in enumerate(pngs)],
    ).json()
    np.testing.assert_allclose(probabilities, [a["probabilities"] for a in rest], atol=1e-6)
    assert (probabilities.argmax(axis=1) == labels).mean() >= 0.75


def test_encode_and_decode_give_what_rest_gives(triton_client, server, uploads):
    pngs, batch, _labels = uploads
    latents = triton_client.infer("autoencoder", [_input("image", batch[:1], True)]).as_numpy(
        "latent"
    )
    rest = httpx.post(f"{server}/encode", files={"image": ("d.png", pngs[0], "image/png")})
    np.testing.assert_allclose(latents[0], rest.json()["latent"], atol=1e-6)
    pixels = triton_client.infer("autoencoder", [_input("latent", latents, False)]).as_numpy(
        "pixels"
    )
    decoded = httpx.post(
        f"{server}/decode",
        json={"latent": latents[0].tolist()},
        headers={"Accept": "application/json"},
    ).json()
    np.testing.assert_allclose(pixels[0], decoded["pixels"], atol=1e-5)


def test_add_gives_what_rest_gives(triton_client, server, uploads):
    pngs, batch, labels = uploads
    pairs = np.stack([batch[0:2], batch[2:4], batch[4:6]])
    result = triton_client.infer("add", [_input("images", pairs, True)])
    units, tens = result.as_numpy("units").argmax(axis=1), result.as_numpy("tens").argmax(axis=1)
    for row, first in enumerate((0, 2, 4)):
        files = {
            "a": ("a.png", pngs[first], "image/png"),
            "b": ("b.png", pngs[first + 1], "image/png"),
        }
        answer = httpx.post(f"{server}/add?model=add", files=files).json()
        assert answer["parts"] == {"units": int(units[row]), "tens": int(tens[row])}
    sums = labels[0:6:2] + labels[1:6:2]
    assert (tens * 10 + units == sums).mean() >= 2 / 3


@pytest.mark.parametrize(
    ("inputs", "status", "words"),
    [
        ([("image", np.zeros((1, 28, 27), np.float32), "FP32")], 422, "has shape [-1, 28, 28]"),
        ([("image", np.zeros((1, 28, 28), np.float64), "FP64")], 422, "is FP32, not FP64"),
        ([("latent", np.zeros((1, 32), np.float32), "FP32")], 422, "takes one input, 'image'"),
        ([("image", np.full((1, 28, 28), np.nan, np.float32), "FP32")], 422, "NaN"),
    ],
    ids=["shape", "datatype", "wrong-input", "nan"],
)
def test_tensors_that_do_not_fit(triton_client, inputs, status, words):
    tensors = []
    for name, array, datatype in inputs:
        tensor = triton.InferInput(name, list(array.shape), datatype)
        tensor.set_data_from_numpy(array)
        tensors.append(tensor)
    with pytest.raises(InferenceServerException) as raised:
        triton_client.infer("classifier", tensors)
    assert raised.value.status() == str(status)
    assert words in raised.value.message()


def test_unknown_names_and_versions(triton_client):
    tensor = _input("image", np.zeros((1, 28, 28), np.float32), True)
    with pytest.raises(InferenceServerException) as raised:
        triton_client.infer("no-such-model", [tensor])
    assert raised.value.status() == "404"
    assert "classifier" in raised.value.message()  # names what is served
    with pytest.raises(InferenceServerException) as raised:
        triton_client.infer("classifier", [tensor], model_version="3")
    assert raised.value.status() == "404"
    assert "serves version 1" in raised.value.message()
    with pytest.raises(InferenceServerException) as raised:
        triton_client.get_model_metadata("no-such-model")
    assert raised.value.status() == "404"


def test_malformed_bodies_get_protocol_errors(server):
    url = f"{server}/v2/models/classifier/infer"
    cases = [
        (b"not json", {}, 400, "not a JSON inference request"),
        (b'{"inputs": []}', {}, 400, "non-empty list"),
        (
            json.dumps(
                {
                    "inputs": [
                        {"name": "image", "shape": [1, 28, 28], "datatype": "FP32", "data": [1]}
                    ]
                }
            ).encode(),
            {},
            422,
            "1 values given",
        ),
        (
            json.dumps(
                {
                    "inputs": [
                        {
                            "name": "image",
                            "shape": [1, 28, 28],
                            "datatype": "FP32",
                            "parameters": {"binary_data_size": 3136},
                        }
                    ]
                }
            ).encode()
            + b"\0" * 100,
            {"Inference-Header-Content-Length": "SIZE"},
            422,
            "says 3136 bytes",
        ),
    ]
    for body, headers, status, words in cases:
        if headers.get("Inference-Header-Content-Length") == "SIZE":
            headers = {"Inference-Header-Content-Length": str(len(body) - 100)}
        answer = httpx.post(url, content=body, headers=headers)
        assert answer.status_code == status, answer.text
        assert words in answer.json()["error"]
