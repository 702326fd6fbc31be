"""Training each model from validated params: plain functions, no Celery, no HTTP.

Progress goes out through a `Monitor` (one call per finished epoch), which can
also cancel a run: `should_stop` is polled between batches, and a cancelled run
raises `TrainingCancelled` so that nothing after it (publishing) happens.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import keras
import numpy as np
import tensorflow as tf

from models.ops import operation
from models.params import AutoencoderParams, ClassifierParams, HeadParams, TrainingParams
from models.training import precision
from models.training.augment import batch_seed, random_affine
from models.training.builders import (
    build_autoencoder,
    build_classifier,
    build_dense_classifier,
    build_head,
)

# Training steps per call into the compiled graph: fewer Python round trips per batch
# (measured on 2 CPU cores: 10% faster head epochs than one step per call).
STEPS_PER_CALL = 16

EpochCallback = Callable[[int, int, dict[str, float]], None]


class TrainingCancelled(Exception):
    """The monitor asked the run to stop; nothing it trained should be kept."""


@dataclass
class Monitor:
    """Where a training run reports progress and learns that it should stop."""

    on_epoch: EpochCallback | None = None
    should_stop: Callable[[], bool] | None = None
    poll_interval_s: float = 0.25

    _last_poll: float = field(default=0.0, init=False, repr=False)

    def raise_if_cancelled(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise TrainingCancelled("training was cancelled")

    def check(self) -> None:
        """`raise_if_cancelled`, at most once every `poll_interval_s` (call it every batch)."""
        now = time.monotonic()
        if now - self._last_poll < self.poll_interval_s:
            return
        self._last_poll = now
        self.raise_if_cancelled()


@dataclass
class Trained:
    model: keras.Model
    history: list[dict[str, float]] = field(default_factory=list)
    wall_time_s: float = 0.0
    precision: str = "float32"
    """The dtype policy the layers trained in; `model` itself is float32."""


class _MonitorCallback(keras.callbacks.Callback):
    def __init__(self, monitor: Monitor, epochs: int) -> None:
        super().__init__()
        self._monitor = monitor
        self._epochs = epochs
        self.history: list[dict[str, float]] = []

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._monitor.check()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        metrics = {key: float(value) for key, value in (logs or {}).items()}
        metrics.pop("learning_rate", None)
        self.history.append({"epoch": epoch + 1, **metrics})
        if self._monitor.on_epoch is not None:
            self._monitor.on_epoch(epoch + 1, self._epochs, metrics)
        self._monitor.check()


def seed_everything(seed: int) -> None:
    """Same seed, same data order, same initial weights, same result."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


# The held-out images depend on how many there are to split and on the fraction, never
# on the run's seed: a head that reads with another model's network (the autoencoder's
# encoder, the add head's reader) validates on images that model held out as well, for
# the same fraction or a smaller one, whatever seeds the two runs used. It is the split
# seed 0 always gave, so the default params train the same models as before.
VALIDATION_SPLIT_SEED = 0


def split_validation(count: int, params: TrainingParams) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled train and validation indices; the same held-out images for every seed.

    The held-out share grows by adding images: a smaller fraction's held-out images are
    among a larger one's.
    """
    order = np.random.default_rng(VALIDATION_SPLIT_SEED).permutation(count)
    held_out = max(1, round(count * params.validation_fraction))
    return order[held_out:], order[:held_out]


def as_float_images(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32) / 255.0


def optimizer(
    params: TrainingParams, steps: int, warmup_steps: int = 0
) -> keras.optimizers.Optimizer:
    """Adam with cosine decay, after a linear warm-up from zero when `warmup_steps` > 0."""
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0 if warmup_steps else params.learning_rate,
        decay_steps=max(1, steps - warmup_steps),
        alpha=0.05,
        warmup_target=params.learning_rate if warmup_steps else None,
        warmup_steps=warmup_steps,
    )
    return keras.optimizers.Adam(learning_rate=schedule)


def fit(
    model: keras.Model,
    params: TrainingParams,
    batches: tf.data.Dataset,
    steps_per_epoch: int,
    validation: tuple,
    monitor: Monitor | None,
    build: Callable[[], keras.Model],
) -> Trained:
    """Fit `model` to endless `batches`; `build` makes it afresh, for its float32 copy."""
    started = time.perf_counter()
    progress = _MonitorCallback(monitor or Monitor(), params.epochs)
    callbacks = [
        # the first half of a cosine schedule runs at high learning rates, where the
        # validation loss jumps about: a stop there would keep a half-trained model
        keras.callbacks.EarlyStopping(
            monitor="val_loss",
            patience=params.patience,
            restore_best_weights=True,
            start_from_epoch=params.epochs // 2,
        ),
        progress,
    ]
    model.fit(
        batches,
        shuffle=False,  # the batches come shuffled
        steps_per_epoch=steps_per_epoch,
        epochs=params.epochs,
        validation_data=validation,
        callbacks=callbacks,
        verbose=0,
    )
    policy = model.dtype_policy.name
    return Trained(
        precision.in_float32(model, build), progress.history, time.perf_counter() - started, policy
    )


def _shuffled_batches(examples, params: TrainingParams) -> tf.data.Dataset:
    """Endless batches of `examples` (arrays, or a tuple of them), reshuffled every epoch.

    A tf.data pipeline rather than arrays given to `fit`: in one 3-epoch timing (54,000
    images, 2 cores, bfloat16) Keras' array adapter took about 40 s an autoencoder
    epoch after the first against 24 s this way.
    """
    count = len(examples[0]) if isinstance(examples, tuple) else len(examples)
    return (
        tf.data.Dataset.from_tensor_slices(examples)
        .shuffle(count, seed=params.seed, reshuffle_each_iteration=True)
        .batch(params.batch_size)
        .repeat()
    )


def precision_build(build: Callable[[], keras.Model], choice: precision.Precision) -> keras.Model:
    """The model `build` makes, its layers computing in the precision `choice` resolves to."""
    with precision.dtype_policy(precision.resolve(choice)):
        return build()


def limit(images: np.ndarray, params: TrainingParams) -> np.ndarray:
    """The training set, cut to `train_limit` images when one is set."""
    return images[: params.train_limit] if params.train_limit else images


def train_autoencoder(
    params: AutoencoderParams, train_images: np.ndarray, monitor: Monitor | None = None
) -> Trained:
    """Reconstruct images through a `latent_dim` sigmoid bottleneck; loss is pixel BCE."""
    seed_everything(params.seed)
    images = as_float_images(limit(train_images, params))
    fit_index, val_index = split_validation(len(images), params)
    build = partial(build_autoencoder, params.latent_dim)
    model = precision_build(build, params.precision)
    steps_per_epoch = math.ceil(len(fit_index) / params.batch_size)
    model.compile(
        optimizer=optimizer(params, steps_per_epoch * params.epochs),
        loss="binary_crossentropy",
        steps_per_execution=STEPS_PER_CALL,
    )
    batches = (
        _shuffled_batches(images[fit_index], params)
        .map(lambda batch: (batch, batch))
        .prefetch(tf.data.AUTOTUNE)
    )
    x_val = images[val_index]
    return fit(model, params, batches, steps_per_epoch, (x_val, x_val), monitor, build)


def train_classifier(
    params: ClassifierParams,
    train_images: np.ndarray,
    train_labels: np.ndarray,
    monitor: Monitor | None = None,
) -> Trained:
    """The ten-way CNN (or dense net), each training image randomly rotated, zoomed and shifted."""
    seed_everything(params.seed)
    images = as_float_images(limit(train_images, params))
    labels = limit(train_labels, params).astype(np.int64)
    fit_index, val_index = split_validation(len(images), params)

    def warp(index: tf.Tensor, batch: tuple) -> tuple:
        return random_affine(batch[0], batch_seed(params.seed, index)), batch[1]

    steps_per_epoch = math.ceil(len(fit_index) / params.batch_size)
    dataset = (
        _shuffled_batches((images[fit_index], labels[fit_index]), params)
        .enumerate()
        .map(warp, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    if params.architecture == "dense":
        build = partial(
            build_dense_classifier, params.hidden_units, params.hidden_layers, params.dropout
        )
    else:
        build = partial(build_classifier, params.dropout)
    model = precision_build(build, params.precision)
    steps = steps_per_epoch * params.epochs
    model.compile(
        optimizer=optimizer(params, steps),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=STEPS_PER_CALL,
    )
    validation = (images[val_index], labels[val_index])
    return fit(model, params, dataset, steps_per_epoch, validation, monitor, build)


@dataclass(frozen=True)
class PairResults:
    """Pairs of image indices and the operation's result for each: all a head learns from."""

    pairs: np.ndarray
    results: np.ndarray

    def __post_init__(self) -> None:
        if self.pairs.ndim != 2 or self.pairs.shape[1] != 2:
            raise ValueError(f"pairs must have shape (N, 2), got {self.pairs.shape}")
        if len(self.pairs) != len(self.results):
            raise ValueError(f"{len(self.pairs)} pairs but {len(self.results)} results")


def train_head(
    operation_name: str,
    params: HeadParams,
    encoder: keras.Model,
    images: np.ndarray,
    train: PairResults,
    validation: PairResults,
    monitor: Monitor | None = None,
) -> Trained:
    """Learn an operation from pairs of images and the operation's results alone.

    The head reads each image with its own copy of `encoder`, fine-tuned here when
    `params.train_reader` is set. `train.pairs` index into `images` (uint8),
    `params.pairs` of them per epoch (draw `epochs * pairs` for fresh pairs every
    epoch), and both images of a pair are randomly rotated, zoomed and shifted a
    little. No digit label reaches this function: only sums, products or
    comparisons do.
    """
    op = operation(operation_name)
    seed_everything(params.seed)
    pixels = tf.constant(as_float_images(images))

    def pair_batch(index: tf.Tensor, batch: tuple) -> tuple:
        pairs, targets = batch
        flat = tf.reshape(tf.gather(pixels, pairs), (-1, 28, 28))
        warped = random_affine(flat, batch_seed(params.seed, index))
        return tf.reshape(warped, (-1, 2, 28, 28)), targets

    targets = op.targets(train.results)
    steps_per_epoch = max(1, params.pairs // params.batch_size)
    dataset = (
        tf.data.Dataset.from_tensor_slices((train.pairs, targets))
        .repeat()
        .batch(params.batch_size, drop_remainder=True)
        .enumerate()
        .map(pair_batch, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    build = partial(
        build_head,
        op.name,
        encoder,
        params.hidden_units,
        params.hidden_layers,
        train_reader=params.train_reader,
    )
    model = precision_build(build, params.precision)
    losses = {
        key: "binary_crossentropy" if classes == 1 else "sparse_categorical_crossentropy"
        for key, classes in op.outputs.items()
    }
    metrics = {
        key: "binary_accuracy" if classes == 1 else "accuracy"
        for key, classes in op.outputs.items()
    }
    # the reader starts trained and the layers after it do not: warming the learning rate up
    # over the first epoch keeps their first, random gradients from scrambling the reader
    adam = optimizer(params, steps_per_epoch * params.epochs, warmup_steps=steps_per_epoch)
    model.compile(optimizer=adam, loss=losses, metrics=metrics, steps_per_execution=STEPS_PER_CALL)
    val_inputs = as_float_images(images[validation.pairs])
    val_targets = op.targets(validation.results)
    return fit(model, params, dataset, steps_per_epoch, (val_inputs, val_targets), monitor, build)
