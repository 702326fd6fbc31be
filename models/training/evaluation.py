"""Metrics on the MNIST test set, the figures every version records."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from models.ops import decode, draw_pairs, operation
from models.training.fit import as_float_images

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


@dataclass(frozen=True)
class PairScores:
    """Which test pairs a model gets right: `pairs` are `(N, 2)` indices into the test
    images, `correct` says for each whether the exact result was right."""

    pairs: np.ndarray
    correct: np.ndarray

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.correct))


def head_scores(
    operation_name: str,
    head: keras.Model,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    pairs: int = EVALUATION_PAIRS,
    seed: int = EVALUATION_SEED,
) -> PairScores:
    """Whether the head gets the exact result of each of `pairs` random pairs of (uint8) test
    images right (`.accuracy`: the share it does)."""
    op = operation(operation_name)
    index = draw_pairs(pairs, len(images), seed)
    outputs = predict(head, as_float_images(images[index]))
    outputs = {key: np.asarray(value) for key, value in outputs.items()}
    expected = op.apply(labels[index[:, 0]], labels[index[:, 1]])
    return PairScores(index, decode(op.name, outputs).results == expected)


def reading_accuracy(
    operation_name: str,
    readings: np.ndarray,
    labels: np.ndarray,
    *,
    pairs: int = EVALUATION_PAIRS,
    seed: int = EVALUATION_SEED,
) -> float:
    """`head_scores` for a digit reader: the share of the same random test pairs whose
    exact result it gets right, answering with the most probable result over both readings
    (for compare, whether P(a > b) is over one half). `readings` are the reader's `(N, 10)`
    probabilities for the test images."""
    return reading_scores(operation_name, readings, labels, pairs=pairs, seed=seed).accuracy


def reading_scores(
    operation_name: str,
    readings: np.ndarray,
    labels: np.ndarray,
    *,
    pairs: int = EVALUATION_PAIRS,
    seed: int = EVALUATION_SEED,
) -> PairScores:
    """`reading_accuracy` pair by pair."""
    op = operation(operation_name)
    index = draw_pairs(pairs, len(readings), seed)
    first, second = readings[index[:, 0]], readings[index[:, 1]]
    joint = (first[:, :, None] * second[:, None, :]).reshape(len(index), 100)
    digits = np.arange(10)
    results = op.apply(np.repeat(digits, 10), np.tile(digits, 10))  # of each of the 100 pairs
    if op.name == "compare":
        answers = (joint[:, results == 1].sum(axis=1) > 0.5).astype(np.int64)
    else:
        by_result = np.zeros((len(index), int(results.max()) + 1))
        np.add.at(by_result.T, results, joint.T)
        answers = by_result.argmax(axis=1)
    expected = op.apply(labels[index[:, 0]], labels[index[:, 1]])
    return PairScores(index, answers == expected)
