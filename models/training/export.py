"""Exporting trained Keras models to LiteRT flatbuffers with named signatures.

Kinds that serve decisions (a digit, a sum, a comparison) may publish an export whose
weights are int8 (dynamic-range quantization): the activations stay float and are
quantized row by row as each layer runs, so one image's answer never depends on the
others in its batch. XNNPACK runs such convolutions about four times faster on a CPU
(`python -m bench.exports` on a 2-core Xeon with AVX-512 VNNI, 2026-12-07: the reader
starter 29.6 us an image at batch 32 against 113.5 in float32, one thread, 99.63% of the
test digits either way). The pipeline keeps a quantized export only when it takes the
same decisions as Keras (`compare_export`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

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


@dataclass(frozen=True)
class ExportCheck:
    """How a LiteRT export's outputs compare with Keras' on the same samples."""

    max_abs_diff: float
    """The largest absolute difference of any output value."""
    agreement: float
    """The share of decisions (every output of every sample) taken alike (`decisions`)."""


def compare_export(
    signatures: Signatures, endpoints: Endpoints, flatbuffer: bytes, samples: dict
) -> ExportCheck:
    """Run Keras and LiteRT once on `samples` (signature -> input) and compare them."""
    lite = LiteModel(flatbuffer, num_threads=1)
    worst, agreeing, total = 0.0, 0, 0
    for signature, batch in samples.items():
        input_name = signatures[signature][0]
        expected = endpoints[signature][0](tf.constant(batch, tf.float32))
        actual = lite.run(signature, **{input_name: batch})
        for key, value in expected.items():
            value = np.asarray(value)
            worst = max(worst, float(np.max(np.abs(value - actual[key]))))
            same = decisions(value) == decisions(actual[key])
            agreeing, total = agreeing + int(same.sum()), total + same.size
    return ExportCheck(worst, agreeing / total)


def decisions(outputs: np.ndarray) -> np.ndarray:
    """What an output decides for each input: the most probable class along the last
    axis, or for a single probability whether it is over one half."""
    if outputs.shape[-1] == 1:
        return outputs[..., 0] > 0.5
    return outputs.argmax(axis=-1)
