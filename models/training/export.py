"""Exporting trained Keras models to LiteRT flatbuffers with named signatures.

Kinds that serve decisions (a digit, a sum, a comparison) may publish an export whose
weights are int8 (dynamic-range quantization): the activations stay float and are
quantized row by row as each layer runs, so one image's answer never depends on the
others in its batch. XNNPACK runs such convolutions about four times faster on a CPU
(the reader starter on a 2-core Xeon with AVX-512 VNNI: 29 us an image against 110 in
float32, one thread, /tmp/prof/quant.py of 2026-12-07) for the same test accuracy. The
pipeline keeps a quantized export only when it takes the same decisions as Keras
(`decision_agreement`).
"""

from __future__ import annotations

import tempfile

import keras
import numpy as np
import tensorflow as tf

from models.kinds import Signatures
from models.runtime import LiteModel

# Signature name -> (function of one input tensor returning named outputs, its input spec)
Endpoints = dict[str, tuple]


def export_litert(
    model: keras.Model, signatures: Signatures, endpoints: Endpoints, *, quantize: bool = False
) -> bytes:
    """Convert `model`'s `endpoints` (its kind's, see `models.kinds`) to a LiteRT flatbuffer.

    Every input has a free batch dimension; the flatbuffer has one signature per
    endpoint, with the input and output names the kind's `signatures` give. With
    `quantize`, the weights are stored as int8 (dynamic-range quantization).
    """
    archive = keras.export.ExportArchive()
    archive.track(model)
    for signature, (function, spec) in endpoints.items():
        archive.add_endpoint(signature, function, input_signature=[spec])
    with tempfile.TemporaryDirectory(prefix="handcalc-export-") as folder:
        archive.write_out(folder, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(
            folder, signature_keys=list(signatures)
        )
        if quantize:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]  # no data given: weights only
        return converter.convert()


def _outputs(
    signatures: Signatures, endpoints: Endpoints, flatbuffer: bytes, samples: dict
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(Keras', LiteRT's) value of every output of every signature on its samples."""
    lite = LiteModel(flatbuffer, num_threads=1)
    pairs = []
    for signature, batch in samples.items():
        input_name = signatures[signature][0]
        expected = endpoints[signature][0](tf.constant(batch, tf.float32))
        actual = lite.run(signature, **{input_name: batch})
        pairs.extend((np.asarray(value), actual[key]) for key, value in expected.items())
    return pairs


def max_difference(
    signatures: Signatures, endpoints: Endpoints, flatbuffer: bytes, samples: dict
) -> float:
    """Largest absolute difference between Keras and LiteRT on `samples` (signature -> input)."""
    pairs = _outputs(signatures, endpoints, flatbuffer, samples)
    return max(float(np.max(np.abs(expected - actual))) for expected, actual in pairs)


def decisions(outputs: np.ndarray) -> np.ndarray:
    """What an output decides for each input: the most probable class along the last
    axis, or for a single probability whether it is over one half."""
    if outputs.shape[-1] == 1:
        return outputs[..., 0] > 0.5
    return outputs.argmax(axis=-1)


def decision_agreement(
    signatures: Signatures, endpoints: Endpoints, flatbuffer: bytes, samples: dict
) -> float:
    """The share of decisions (every output of every sample) LiteRT takes as Keras does."""
    agreeing, total = 0, 0
    for expected, actual in _outputs(signatures, endpoints, flatbuffer, samples):
        same = decisions(expected) == decisions(actual)
        agreeing, total = agreeing + int(same.sum()), total + same.size
    return agreeing / total
