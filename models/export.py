"""Exporting trained Keras models to LiteRT flatbuffers with named signatures."""

from __future__ import annotations

import tempfile

import keras
import numpy as np
import tensorflow as tf

from models.catalog import SIGNATURES, is_head
from models.runtime import LiteModel


def export_litert(name: str, model: keras.Model) -> bytes:
    """Convert `model` (an autoencoder, the classifier or a head) to a LiteRT flatbuffer.

    The autoencoder gets two signatures, `encode` and `decode`; the classifier
    `classify`; a head `predict`. Every input has a free batch dimension.
    """
    archive = keras.export.ExportArchive()
    archive.track(model)
    for signature, (function, spec) in _endpoints(name, model).items():
        archive.add_endpoint(signature, function, input_signature=[spec])
    with tempfile.TemporaryDirectory(prefix="handcalc-export-") as folder:
        archive.write_out(folder, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(
            folder, signature_keys=list(SIGNATURES[name])
        )
        return converter.convert()


def _endpoints(name: str, model: keras.Model) -> dict:
    if name == "autoencoder":
        encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
        latent_dim = encoder.output.shape[-1]
        return {
            "encode": (
                lambda image: {"latent": encoder(image, training=False)},
                tf.TensorSpec([None, 28, 28], tf.float32, name="image"),
            ),
            "decode": (
                lambda latent: {"pixels": decoder(latent, training=False)},
                tf.TensorSpec([None, latent_dim], tf.float32, name="latent"),
            ),
        }
    if name == "classifier":
        return {
            "classify": (
                lambda image: {"probabilities": model(image, training=False)},
                tf.TensorSpec([None, 28, 28], tf.float32, name="image"),
            )
        }
    if is_head(name):
        return {
            "predict": (
                lambda images: dict(model(images, training=False)),
                tf.TensorSpec([None, 2, 28, 28], tf.float32, name="images"),
            )
        }
    raise ValueError(f"no LiteRT export defined for model {name!r}")


def max_difference(name: str, model: keras.Model, flatbuffer: bytes, samples: dict) -> float:
    """Largest absolute difference between Keras and LiteRT on `samples` (signature -> input)."""
    lite = LiteModel(flatbuffer, num_threads=1)
    endpoints = _endpoints(name, model)
    worst = 0.0
    for signature, batch in samples.items():
        input_name = SIGNATURES[name][signature][0]
        expected = endpoints[signature][0](tf.constant(batch, tf.float32))
        actual = lite.run(signature, **{input_name: batch})
        for key, value in expected.items():
            worst = max(worst, float(np.max(np.abs(np.asarray(value) - actual[key]))))
    return worst
