"""Consistency under augmentation: a classifier head that learns from unlabelled images too.

The head sits on a frozen reader. Every step it sees a batch of the labelled images,
each randomly warped a little, with their digits, and a batch of images drawn from all
the training images, whose labels it never gets. Each of those is warped twice: gently,
to guess its digit, and hard (more rotation, zoom and shift), to learn from. Where the
gentle guess is at least `confidence` sure, the head is taught to give the same digit
to the hard warp: the pseudo-label and consistency loss of FixMatch (Sohn et al., 2020),
with the warps `models.training.augment` draws. The reader only reads: its weights
never change, and it sees the warped images as any caller would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from models.training.augment import batch_seed, random_affine
from models.training.fit import Monitor

GENTLE = {"max_rotation": 0.1, "max_shift": 1.0, "max_zoom": 1.05}
"""The warp whose reading gives an unlabelled image its pseudo-label."""
HARD = {"max_rotation": 0.4, "max_shift": 3.0, "max_zoom": 1.25}
"""The warp the head learns to read as the gentle one was read."""
RECENT_STEPS = 100
"""Steps over which the share of confident unlabelled images is reported."""


@dataclass
class ConsistencyReport:
    labelled_loss: float
    unlabelled_loss: float
    confident_share: float
    """Share of the unlabelled images in the last `RECENT_STEPS` batches that were sure
    enough to be taught."""


def train_consistent(
    head: keras.Model,
    read: Callable[[tf.Tensor], tf.Tensor],
    images: np.ndarray,
    labelled_index: np.ndarray,
    labelled_digits: np.ndarray,
    *,
    steps: int,
    batch_size: int,
    optimizer: keras.optimizers.Optimizer,
    confidence: float,
    seed: int,
    monitor: Monitor | None = None,
) -> ConsistencyReport:
    """Teach `head` (readings -> ten probabilities) for `steps` steps, in place.

    `read` maps float images `(N, 28, 28)` to the readings the head takes (the frozen
    reader, then any standardisation); `images` are every training image as floats in
    [0, 1]. Each step takes `batch_size` labelled images, drawn with replacement from
    `labelled_index` (their digits in `labelled_digits`), and four times as many
    unlabelled ones from all of `images`.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    monitor = monitor or Monitor()
    pixels = tf.constant(images, tf.float32)
    labelled = tf.constant(np.asarray(labelled_index), tf.int32)
    digits = tf.constant(np.asarray(labelled_digits), tf.int64)
    unlabelled_count = 4 * batch_size
    cross_entropy = keras.losses.SparseCategoricalCrossentropy(reduction=None)
    variables = head.trainable_variables

    @tf.function
    def step(index: tf.Tensor):
        draws = tf.unstack(tf.random.experimental.stateless_split(batch_seed(seed, index), 5))
        which = tf.random.stateless_uniform(
            (batch_size,), draws[0], 0, tf.shape(labelled)[0], dtype=tf.int32
        )
        labelled_images = random_affine(tf.gather(pixels, tf.gather(labelled, which)), draws[1])
        targets = tf.gather(digits, which)
        drawn = tf.random.stateless_uniform(
            (unlabelled_count,), draws[2], 0, tf.shape(pixels)[0], dtype=tf.int32
        )
        unlabelled_images = tf.gather(pixels, drawn)
        guesses = head(read(random_affine(unlabelled_images, draws[3], **GENTLE)), training=False)
        pseudo_labels = tf.argmax(guesses, axis=1)
        sure = tf.cast(tf.reduce_max(guesses, axis=1) >= confidence, tf.float32)
        labelled_readings = read(labelled_images)
        hard_readings = read(random_affine(unlabelled_images, draws[4], **HARD))
        with tf.GradientTape() as tape:
            labelled_loss = tf.reduce_mean(
                cross_entropy(targets, head(labelled_readings, training=True))
            )
            unlabelled_loss = tf.reduce_mean(
                sure * cross_entropy(pseudo_labels, head(hard_readings, training=True))
            )
            loss = labelled_loss + unlabelled_loss
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return labelled_loss, unlabelled_loss, tf.reduce_mean(sure)

    recent: list[tuple[float, float, float]] = []
    for index in range(steps):
        monitor.check()
        recent.append(tuple(float(value) for value in step(tf.constant(index, tf.int64))))
        del recent[:-RECENT_STEPS]
    labelled_loss, unlabelled_loss, share = np.mean(recent, axis=0)
    return ConsistencyReport(float(labelled_loss), float(unlabelled_loss), float(share))
