"""Metrics on the MNIST test set, the figures every version records."""

from __future__ import annotations

import keras
import numpy as np

from models.ops import decode, draw_pairs, operation
from models.training import as_float_images

EVALUATION_PAIRS = 10_000
EVALUATION_SEED = 20_260_601  # fixed, so every version is scored on the same test pairs
_BATCH = 1024
_EPSILON = 1e-7


def predict(model: keras.Model, inputs: np.ndarray):
    return model.predict(inputs, batch_size=_BATCH, verbose=0)


def encode(encoder: keras.Model, images: np.ndarray) -> np.ndarray:
    """Latents of uint8 images."""
    return np.asarray(predict(encoder, as_float_images(images)), dtype=np.float32)


def autoencoder_bce(autoencoder: keras.Model, images: np.ndarray) -> float:
    """Binary cross-entropy per pixel between images and their reconstructions."""
    target = as_float_images(images)
    return pixel_bce(target, predict(autoencoder, target))


def pixel_bce(target: np.ndarray, reconstruction: np.ndarray) -> float:
    """Mean binary cross-entropy per pixel of a reconstruction of grey-level `target` (floats
    in [0, 1]), in float64."""
    target = np.asarray(target, np.float64)
    reconstruction = np.clip(np.asarray(reconstruction, np.float64), _EPSILON, 1 - _EPSILON)
    losses = -(target * np.log(reconstruction) + (1 - target) * np.log(1 - reconstruction))
    return float(losses.mean())


def classifier_accuracy(classifier: keras.Model, images: np.ndarray, labels: np.ndarray) -> float:
    probabilities = predict(classifier, as_float_images(images))
    return float(np.mean(probabilities.argmax(axis=1) == labels))


def head_accuracy(
    operation_name: str,
    head: keras.Model,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    pairs: int = EVALUATION_PAIRS,
    seed: int = EVALUATION_SEED,
) -> float:
    """Share of random pairs of (uint8) test images whose exact result the head gets right."""
    op = operation(operation_name)
    index = draw_pairs(pairs, len(images), seed)
    outputs = predict(head, as_float_images(images[index]))
    outputs = {key: np.asarray(value) for key, value in outputs.items()}
    expected = op.apply(labels[index[:, 0]], labels[index[:, 1]])
    return float(np.mean(decode(op.name, outputs).results == expected))
