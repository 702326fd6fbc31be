"""The `autoencoder` kind: images through a sigmoid latent and back (builders in `builders`)."""

from __future__ import annotations

import keras
import tensorflow as tf

from models.kinds.run import SAMPLES, Outcome, Run
from models.training import evaluation
from models.training.fit import as_float_images, train_autoencoder


def train(run: Run) -> Outcome:
    (x_train, _labels), (x_test, _test_labels) = run.dataset  # no label is used
    trained = train_autoencoder(run.params, x_train, run.monitor)
    encoder = trained.model.get_layer("encoder")
    return Outcome(
        trained,
        {"test_bce": evaluation.autoencoder_bce(trained.model, x_test)},
        {
            "encode": as_float_images(x_test[:SAMPLES]),
            "decode": evaluation.encode(encoder, x_test[:SAMPLES]),
        },
        metadata={"latent": {"length": run.params.latent_dim, "min": 0.0, "max": 1.0}},
    )


def reader(model: keras.Model) -> keras.Model:
    """What another model reads with: the encoder, image -> latent."""
    return model.get_layer("encoder")


def endpoints(model: keras.Model) -> dict:
    encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
    return {
        "encode": (
            lambda image: {"latent": encoder(image, training=False)},
            tf.TensorSpec([None, 28, 28], tf.float32, name="image"),
        ),
        "decode": (
            lambda latent: {"pixels": decoder(latent, training=False)},
            tf.TensorSpec([None, encoder.output.shape[-1]], tf.float32, name="latent"),
        ),
    }
