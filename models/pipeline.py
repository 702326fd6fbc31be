"""Train a model, evaluate it, export it and publish it to the store: one job, start to end.

The CLI and the workers both call `run_training`. A run that fails or is
cancelled publishes nothing: its files live in a staging folder until the one
atomic rename that makes them a version.
"""

from __future__ import annotations

import logging
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from models import evaluation
from models.builders import head_reader
from models.catalog import KERAS_FILE, LITERT_FILE, is_head
from models.data import Dataset, digest, load_mnist
from models.export import export_litert, max_difference
from models.ops import draw_pairs, operation
from models.params import TrainingParams, params_for, source_version
from models.precision import has_gpu
from models.registry import ArtifactStore
from models.training import (
    Monitor,
    PairResults,
    as_float_images,
    limit,
    split_validation,
    train_autoencoder,
    train_classifier,
    train_head,
)

logger = logging.getLogger(__name__)

LITERT_TOLERANCE = 1e-4
_SAMPLES = 64
_VALIDATION_PAIRS = 10_000


@dataclass
class Published:
    name: str
    version: int
    metrics: dict[str, float]
    wall_time_s: float
    activated: bool
    lineage: dict[str, int] = field(default_factory=dict)


def load_keras_model(store: ArtifactStore, name: str, version: int | str = "active") -> tuple:
    """A stored Keras model and its `Version`, loaded in safe mode (no code runs)."""
    stored = store.resolve(name, version)
    model = keras.saving.load_model(stored.file(KERAS_FILE), compile=False, safe_mode=True)
    return model, stored


def run_training(
    name: str,
    params: TrainingParams | dict[str, Any] | None,
    store: ArtifactStore,
    *,
    dataset: Dataset | None = None,
    data_source: str | Path | None = None,
    encoder_version: int | None = None,
    reader_version: int | None = None,
    activate: bool = True,
    monitor: Monitor | None = None,
) -> Published:
    """Train `name`, evaluate it on the test set, export it and publish it.

    A head starts its reader from the model its `params.reader` names: the
    autoencoder at `encoder_version`, or another head at `reader_version`
    (each defaults to the active version).
    """
    started = time.perf_counter()
    monitor = monitor or Monitor()
    if not isinstance(params, TrainingParams):
        params = params_for(name, params)
    if dataset is None:
        dataset = load_mnist(data_source)
    (x_train, y_train), (x_test, y_test) = dataset
    lineage: dict[str, int] = {}

    if name == "autoencoder":
        trained = train_autoencoder(params, x_train, monitor)
        metrics = {"test_bce": evaluation.autoencoder_bce(trained.model, x_test)}
        encoder = trained.model.get_layer("encoder")
        samples = {
            "encode": as_float_images(x_test[:_SAMPLES]),
            "decode": evaluation.encode(encoder, x_test[:_SAMPLES]),
        }
    elif name == "classifier":
        trained = train_classifier(params, x_train, y_train, monitor)
        metrics = {"test_accuracy": evaluation.classifier_accuracy(trained.model, x_test, y_test)}
        samples = {"classify": as_float_images(x_test[:_SAMPLES])}
    elif is_head(name):
        reader, lineage = _reader(store, params.reader, encoder_version, reader_version)
        images = limit(x_train, params)
        train, validation = _pair_results(name, params, limit(y_train, params))
        trained = train_head(name, params, reader, images, train, validation, monitor)
        metrics = {"test_accuracy": evaluation.head_accuracy(name, trained.model, x_test, y_test)}
        index = draw_pairs(_SAMPLES, len(x_test), seed=1)
        samples = {"predict": as_float_images(x_test[index])}
    else:
        raise ValueError(f"unknown model {name!r}")

    monitor.raise_if_cancelled()

    flatbuffer = export_litert(name, trained.model)
    difference = max_difference(name, trained.model, flatbuffer, samples)
    if difference > LITERT_TOLERANCE:
        raise RuntimeError(
            f"the LiteRT export of {name} differs from Keras by {difference:.2e} "
            f"(tolerance {LITERT_TOLERANCE:g}); not publishing"
        )
    metadata = {
        "params": params.model_dump(),
        "metrics": metrics,
        "history": trained.history,
        "lineage": lineage,
        "data": {
            "source": str(data_source) if data_source else "in-memory dataset",
            "digest": digest(dataset),
            "train_images": len(limit(x_train, params)),
            "test_images": len(x_test),
        },
        "litert_max_abs_diff": difference,
        "training_wall_time_s": round(trained.wall_time_s, 2),
        "training_precision": trained.precision,
        "device": "gpu" if has_gpu() else "cpu",
        "libraries": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
        },
    }
    if name == "autoencoder":
        metadata["latent"] = {"length": params.latent_dim, "min": 0.0, "max": 1.0}

    with store.stage(name) as staging:
        _without_training_state(trained.model).save(staging / KERAS_FILE)
        (staging / LITERT_FILE).write_bytes(flatbuffer)
        monitor.raise_if_cancelled()  # the export and the save take seconds
        version = store.publish(name, staging, metadata)
    if activate:
        store.activate(name, version.version)
    return Published(
        name, version.version, metrics, time.perf_counter() - started, activate, lineage
    )


def _reader(
    store: ArtifactStore, source: str, encoder_version: int | None, reader_version: int | None
) -> tuple:
    """The network a head starts reading with, and the lineage that it brings.

    From the autoencoder: its encoder. From another head: that head's reader, and
    with it the head's own lineage, so a head records every model it descends from.
    """
    version = source_version(source, encoder_version, reader_version)
    model, stored = load_keras_model(store, source, version or "active")
    if source == "autoencoder":
        return model.get_layer("encoder"), {"autoencoder": stored.version}
    return head_reader(model), {source: stored.version, **stored.lineage}


def _without_training_state(model: keras.Model) -> keras.Model:
    """The same network and weights, without the optimizer's slots (a third of the size)."""
    copy = keras.Model.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def _pair_results(
    name: str, params: TrainingParams, labels: np.ndarray
) -> tuple[PairResults, PairResults]:
    """Random training and validation pairs with the operation's result for each.

    The labels are used here only to state each pair's result, as a teacher who
    says "these two make 12" would; `train_head` receives the results, never the
    digits. Training pairs (fresh ones for every epoch) come from the training
    images and validation pairs from the held-out ones, so no image is in both.
    """
    op = operation(name)
    fit_index, val_index = split_validation(len(labels), params)
    fit_pairs = fit_index[draw_pairs(params.epochs * params.pairs, len(fit_index), params.seed)]
    val_pairs = val_index[draw_pairs(_VALIDATION_PAIRS, len(val_index), params.seed + 1)]

    def with_results(pairs: np.ndarray) -> PairResults:
        return PairResults(pairs, op.apply(labels[pairs[:, 0]], labels[pairs[:, 1]]))

    return with_results(fit_pairs), with_results(val_pairs)
