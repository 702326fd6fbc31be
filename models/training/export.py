"""Exporting trained Keras models to LiteRT flatbuffers with named signatures."""

from __future__ import annotations

import tempfile

import keras
import numpy as np
import tensorflow as tf

from models.kinds import Signatures
from models.runtime import LiteModel

# Signature name -> (function of one input tensor returning named outputs, its input spec)
Endpoints = dict[str, tuple]


def export_litert(model: keras.Model, signatures: Signatures, endpoints: Endpoints) -> bytes:
    """Convert `model`'s `endpoints` (its kind's, see `models.kinds`) to a LiteRT flatbuffer.

    Every input has a free batch dimension; the flatbuffer has one signature per
    endpoint, with the input and output names the kind's `signatures` give.
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
        return converter.convert()


def max_difference(
    signatures: Signatures, endpoints: Endpoints, flatbuffer: bytes, samples: dict
) -> float:
    """Largest absolute difference between Keras and LiteRT on `samples` (signature -> input)."""
    lite = LiteModel(flatbuffer, num_threads=1)
    worst = 0.0
    for signature, batch in samples.items():
        input_name = signatures[signature][0]
        expected = endpoints[signature][0](tf.constant(batch, tf.float32))
        actual = lite.run(signature, **{input_name: batch})
        for key, value in expected.items():
            worst = max(worst, float(np.max(np.abs(np.asarray(value) - actual[key]))))
    return worst
