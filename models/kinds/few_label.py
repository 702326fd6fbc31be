"""The `few-label` kind: a digit classifier taught from a handful of labels.

A frozen reader (an autoencoder's or a VAE's encoder, trained with no label at all,
or a head's reader, which learnt from sums) turns every training image into a
vector; a small classifier learns from the `labels_per_class` labelled images per
digit, then, optionally, from the unlabelled images it is surest of, each with the
digit it predicts (self-training). With `cluster_rounds`, the readings of all the
images are first clustered around the labelled ones (`models.training.clustering`)
and the classifier learns from every image with its cluster's digit before it
self-trains. With `consistency_steps`, the first fit is followed by steps that teach
the classifier to read a hard warp of each unlabelled image as it surely reads a gentle
one (`models.training.consistency`). The reading is the reader's output or, with
`read_from="features"`, its last convolutional maps. The published model is image ->
reader -> standardisation -> classifier, all standard Keras layers.

Only `choose_labelled` sees every training label, to draw a balanced labelled set;
`train_few_label` receives the labels of the chosen images and nothing else.
"""

from __future__ import annotations

import hashlib
import math
import time

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from models.kinds.classifier import endpoints
from models.kinds.run import SAMPLES, Outcome, Run
from models.params import FewLabelParams
from models.training.clustering import cluster_digits
from models.training.consistency import train_consistent
from models.training.evaluation import classifier_accuracy, predict
from models.training.fit import Monitor, Trained, as_float_images, limit, optimizer, seed_everything

__all__ = [
    "choose_labelled",
    "endpoints",
    "indices_digest",
    "reading_network",
    "train",
    "train_few_label",
]

_PASSES = 3
"""Passes over the examples when the head learns from pseudo-labelled images."""


def choose_labelled(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Indices of `per_class` images of each digit, drawn at random with `seed`, sorted."""
    rng = np.random.default_rng(seed)
    chosen = []
    for digit in range(10):
        candidates = np.flatnonzero(labels == digit)
        if len(candidates) < per_class:
            raise ValueError(
                f"labels_per_class is {per_class} but the training set has only "
                f"{len(candidates)} images of the digit {digit}"
            )
        chosen.append(rng.choice(candidates, per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def indices_digest(indices: np.ndarray) -> str:
    return "sha256:" + hashlib.sha256(np.asarray(indices, np.int64).tobytes()).hexdigest()


def reading_network(reader: keras.Model, read_from: str) -> keras.Model:
    """What the classifier reads from `reader`: its output, or its last flattened maps."""
    if read_from == "output":
        return keras.Model(reader.input, reader.output, name="reader")
    if read_from != "features":
        raise ValueError(f"read_from must be 'output' or 'features', got {read_from!r}")
    flattened = [layer for layer in reader.layers if isinstance(layer, layers.Flatten)]
    if not flattened:
        raise ValueError(f"the reader {reader.name!r} has no convolutional maps to read from")
    return keras.Model(reader.input, flattened[-1].output, name="reader")


def build_head(features: int, hidden_units: int, dropout: float) -> keras.Model:
    """Standardised reading -> (a hidden layer) -> ten probabilities."""
    reading = keras.Input(shape=(features,), name="reading")
    x = reading
    if hidden_units:
        x = layers.Dense(hidden_units, activation="relu", name="hidden")(x)
        x = layers.Dropout(dropout)(x)
    probabilities = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(reading, probabilities, name="few_label_head")


def build_classifier(
    reader: keras.Model, normalization: layers.Normalization, head: keras.Model
) -> keras.Model:
    """The whole classifier as published: image -> reader -> standardisation -> head."""
    image = keras.Input(shape=(28, 28), name="image")
    reading = reader(image)
    probabilities = head(normalization(reading))
    return keras.Model(image, probabilities, name="few_label_classifier")


def _fit_head(
    params: FewLabelParams, features: np.ndarray, targets: np.ndarray, steps: int, seed: int
) -> tuple[keras.Model, float]:
    keras.utils.set_random_seed(seed)
    head = build_head(features.shape[1], params.hidden_units, params.dropout)
    head.compile(optimizer=optimizer(params, steps), loss="sparse_categorical_crossentropy")
    batches = (
        tf.data.Dataset.from_tensor_slices((features, targets))
        .shuffle(len(features), seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .batch(params.batch_size)
    )
    history = head.fit(batches, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)
    return head, float(history.history["loss"][-1])


def train_few_label(
    params: FewLabelParams,
    reader: keras.Model,
    images: np.ndarray,
    labelled_index: np.ndarray,
    labelled_digits: np.ndarray,
    monitor: Monitor | None = None,
) -> Trained:
    """Teach a classifier on `reader` from the digits of `labelled_index` alone.

    `images` are the training images (uint8), mostly unlabelled; `labelled_digits[i]`
    is the digit of `images[labelled_index[i]]`. No other label is given.
    """
    monitor = monitor or Monitor()
    if len(labelled_index) != len(labelled_digits):
        raise ValueError(f"{len(labelled_index)} labelled images but {len(labelled_digits)} digits")
    seed_everything(params.seed)
    started = time.perf_counter()
    reader = reading_network(reader, params.read_from)
    reader.trainable = False
    pixels = as_float_images(images)
    readings = np.asarray(predict(reader, pixels))
    normalization = layers.Normalization(name="standardise")
    normalization.adapt(readings)  # unsupervised: the readings of every training image
    features = np.asarray(normalization(readings))
    labelled_digits = np.asarray(labelled_digits, np.int64)
    labelled_steps = params.epochs * math.ceil(len(labelled_index) / params.batch_size)
    unlabelled = np.setdiff1d(np.arange(len(images)), labelled_index)
    if params.cluster_rounds:
        # every image starts with its cluster's digit, and the head learns from all of them
        digits = cluster_digits(features, labelled_index, labelled_digits, params.cluster_rounds)
        steps = max(labelled_steps, _PASSES * math.ceil(len(images) / params.batch_size))
        head, loss = _fit_head(params, features, digits, steps, params.seed)
        first = {"epoch": 1, "loss": loss, "pseudo_labels": float(len(unlabelled))}
    else:
        head, loss = _fit_head(
            params, features[labelled_index], labelled_digits, labelled_steps, params.seed
        )
        first = {"epoch": 1, "loss": loss, "pseudo_labels": 0.0}
    history = [first]
    rounds = params.self_training_rounds
    total = 1 + bool(params.consistency_steps) + rounds
    _report(monitor, history, total)
    if params.consistency_steps:
        adam = optimizer(params, params.consistency_steps)
        report = train_consistent(
            head,
            lambda batch: normalization(reader(batch, training=False)),
            pixels,
            labelled_index,
            labelled_digits,
            steps=params.consistency_steps,
            batch_size=params.batch_size,
            optimizer=adam,
            confidence=params.confidence,
            seed=params.seed,
            monitor=monitor,
        )
        confident = report.confident_share * len(images)
        history.append(
            {"epoch": len(history) + 1, "loss": report.labelled_loss, "pseudo_labels": confident}
        )
        _report(monitor, history, total)
    for round_number in range(1, rounds + 1):
        monitor.raise_if_cancelled()
        probabilities = np.asarray(predict(head, features[unlabelled]))
        guesses, confidence = probabilities.argmax(axis=1), probabilities.max(axis=1)
        # each round trusts more of the unlabelled images: the surest share of each digit
        # (all of them at once after clustering, which already gave every image a digit)
        share = 1.0 if params.cluster_rounds else round_number / rounds
        pseudo = []
        for digit in range(10):
            mine = np.flatnonzero(guesses == digit)
            keep = mine[np.argsort(-confidence[mine])][: math.ceil(share * len(mine))]
            pseudo.append(keep)
        pseudo_index = unlabelled[np.concatenate(pseudo)]
        pseudo_digits = guesses[np.concatenate(pseudo)]
        index = np.concatenate([labelled_index, pseudo_index])
        targets = np.concatenate([labelled_digits, pseudo_digits])
        steps = max(labelled_steps, _PASSES * math.ceil(len(index) / params.batch_size))
        head, loss = _fit_head(params, features[index], targets, steps, params.seed + round_number)
        history.append(
            {"epoch": len(history) + 1, "loss": loss, "pseudo_labels": float(len(pseudo_index))}
        )
        _report(monitor, history, total)
    model = build_classifier(reader, normalization, head)
    return Trained(model, history, time.perf_counter() - started, "float32")


def _report(monitor: Monitor, history: list[dict[str, float]], steps: int) -> None:
    """Tell the monitor of the step `history` has just recorded (its metrics, without the
    step's number, as the Keras-trained kinds report theirs)."""
    if monitor.on_epoch is not None:
        *_, latest = history
        metrics = {key: value for key, value in latest.items() if key != "epoch"}
        monitor.on_epoch(int(latest["epoch"]), steps, metrics)


def train(run: Run) -> Outcome:
    (x_train, y_train), (x_test, y_test) = run.dataset
    params = run.params
    reader, lineage = run.reader()
    images = limit(x_train, params)
    chosen = choose_labelled(limit(y_train, params), params.labels_per_class, params.seed)
    trained = train_few_label(params, reader, images, chosen, y_train[chosen], run.monitor)
    return Outcome(
        trained,
        {"test_accuracy": classifier_accuracy(trained.model, x_test, y_test)},
        {"classify": as_float_images(x_test[:SAMPLES])},
        lineage,
        metadata={
            "labelled": {
                "count": len(chosen),
                "per_class": params.labels_per_class,
                "indices_digest": indices_digest(chosen),
            }
        },
    )
