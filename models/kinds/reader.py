"""The `reader` kind: a digit classifier learnt from sums alone, never from a digit label.

The network is the classifier's CNN: one image in, ten probabilities out. It trains
inside a *sum model* that reads both images of a pair with it and turns the two
readings into the distribution of their sum, which follows exactly from them:
P(a + b = s) = sum over i of P(a = i) P(b = s - i). The loss is the negative
log-likelihood of the sum the teacher gave, as the neurosymbolic systems
(DeepProbLog, DeepStochLog, A-NeSI) train their readers for MNIST addition. Sums
determine digits (only 0 + 0 makes 0, only 9 + 9 makes 18), so the readings
settle on the true digits without ever being told one.

Published and served is the reader alone, signature `classify` like a classifier's.
"""

from __future__ import annotations

import math
from functools import partial

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from models.kinds.run import SAMPLES, Outcome, Run
from models.ops import draw_pairs
from models.params import ReaderParams
from models.training import evaluation
from models.training.augment import batch_seed, random_affine
from models.training.builders import IMAGE_SHAPE, build_classifier
from models.training.fit import (
    STEPS_PER_CALL,
    Monitor,
    PairResults,
    Trained,
    as_float_images,
    fit,
    limit,
    optimizer,
    precision_build,
    seed_everything,
    split_validation,
)

SUMS = 19  # 0 + 0 to 9 + 9
VALIDATION_PAIRS = 10_000


def train(run: Run) -> Outcome:
    (x_train, y_train), (x_test, y_test) = run.dataset
    params = run.params
    images = limit(x_train, params)
    fit_sums, validation_sums = pair_sums(params, limit(y_train, params))
    del y_train  # from here on, only sums of pairs
    trained = train_reader(params, images, fit_sums, validation_sums, run.monitor)
    readings = evaluation.predict(trained.model, as_float_images(x_test))
    digit_accuracy = float(np.mean(readings.argmax(axis=1) == y_test))
    return Outcome(
        trained,
        {
            "test_accuracy": digit_accuracy,
            **{
                f"{name}_accuracy": evaluation.reading_accuracy(name, readings, y_test)
                for name in ("add", "multiply", "compare")
            },
        },
        {"classify": as_float_images(x_test[:SAMPLES])},
        metadata={"labels_used": 0, "taught_by": "sums of random pairs of training images"},
    )


def pair_sums(params: ReaderParams, labels: np.ndarray) -> tuple[PairResults, PairResults]:
    """Random training and validation pairs, each with the sum of its two digits.

    This is the teacher: it looks at the labels only to say what each pair adds up
    to. Fresh pairs for every epoch come from the training images, validation pairs
    from the held-out ones.
    """
    fit_index, val_index = split_validation(len(labels), params)
    fit_pairs = fit_index[draw_pairs(params.epochs * params.pairs, len(fit_index), params.seed)]
    val_pairs = val_index[draw_pairs(VALIDATION_PAIRS, len(val_index), params.seed + 1)]
    return (
        PairResults(fit_pairs, labels[fit_pairs].sum(axis=1)),
        PairResults(val_pairs, labels[val_pairs].sum(axis=1)),
    )


def train_reader(
    params: ReaderParams,
    images: np.ndarray,
    train: PairResults,
    validation: PairResults,
    monitor: Monitor | None = None,
) -> Trained:
    """Learn to read digits from pairs of (uint8) `images` and their sums alone.

    `train.pairs` index into `images`, `params.pairs` of them per epoch; both images
    of a pair are randomly rotated, zoomed and shifted a little. The returned model
    is the reader, image -> ten probabilities.
    """
    seed_everything(params.seed)
    pixels = tf.constant(as_float_images(images))

    def pair_batch(index: tf.Tensor, batch: tuple) -> tuple:
        pairs, sums = batch
        flat = tf.reshape(tf.gather(pixels, pairs), (-1, *IMAGE_SHAPE))
        warped = random_affine(flat, batch_seed(params.seed, index))
        return tf.reshape(warped, (-1, 2, *IMAGE_SHAPE)), sums

    steps_per_epoch = max(1, math.ceil(params.pairs / params.batch_size))
    dataset = (
        tf.data.Dataset.from_tensor_slices((train.pairs, train.results.astype(np.int64)))
        .repeat()
        .batch(params.batch_size, drop_remainder=True)
        .enumerate()
        .map(pair_batch, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    build = partial(build_sum_model, partial(build_classifier, params.dropout, params.width))
    model = precision_build(build, params.precision)
    model.compile(
        optimizer=optimizer(params, steps_per_epoch * params.epochs),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=STEPS_PER_CALL,
    )
    val_inputs = as_float_images(images[validation.pairs])
    trained = fit(
        model, params, dataset, steps_per_epoch, (val_inputs, validation.results), monitor, build
    )
    trained.model = trained.model.get_layer("reader").layer
    return trained


class SumOfDigits(layers.Layer):
    """Two digit distributions `(N, 2, 10)` -> the distribution of their sum `(N, 19)`."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        sums = np.zeros((100, SUMS), dtype="float32")
        for a in range(10):
            for b in range(10):
                sums[a * 10 + b, a + b] = 1.0
        self._sums = sums

    def call(self, readings):
        first, second = readings[:, 0, :, None], readings[:, 1, None, :]
        joint = keras.ops.reshape(first * second, (-1, 100))
        return keras.ops.matmul(joint, keras.ops.convert_to_tensor(self._sums, joint.dtype))


def build_sum_model(build_reader) -> keras.Model:
    """Pairs `(N, 2, 28, 28)` -> sum distributions: both images read by one network."""
    images = keras.Input(shape=(2, *IMAGE_SHAPE), name="images")
    readings = layers.TimeDistributed(build_reader(), name="reader")(images)
    sums = SumOfDigits(name="sum", dtype="float32")(readings)
    return keras.Model(images, sums, name="sum_model")


def endpoints(model: keras.Model) -> dict:
    return {
        "classify": (
            lambda image: {"probabilities": model(image, training=False)},
            tf.TensorSpec([None, 28, 28], tf.float32, name="image"),
        )
    }
