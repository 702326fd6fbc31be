"""Train a version of a registered name, evaluate, export, draw and publish it: one job,
start to end.

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

from models.artifacts.catalog import FIGURES_DIR, KERAS_FILE, LITERT_FILE
from models.artifacts.stores import Store
from models.data import Dataset, digest, load_mnist
from models.figures import figures_for
from models.kinds import Kind, settle_kind
from models.kinds.run import Run, load_keras_model
from models.params import TrainingParams
from models.training.export import compare_export, export_litert
from models.training.fit import Monitor, limit
from models.training.layers import portable
from models.training.precision import has_gpu

__all__ = ["Published", "load_keras_model", "run_training"]

logger = logging.getLogger(__name__)

LITERT_TOLERANCE = 1e-4
"""Largest difference allowed between a float32 export's outputs and Keras'."""
MIN_AGREEMENT = 0.998
"""Share of Keras' decisions an int8 export must take alike (at most 2 in 1,000 differ)."""


@dataclass
class Published:
    name: str
    version: int
    metrics: dict[str, float]
    wall_time_s: float
    activated: bool
    lineage: dict[str, int] = field(default_factory=dict)
    kind: str = ""


def run_training(
    name: str,
    params: TrainingParams | dict[str, Any] | None,
    store: Store,
    *,
    kind: str | None = None,
    dataset: Dataset | None = None,
    data_source: str | Path | None = None,
    encoder_version: int | None = None,
    reader_version: int | None = None,
    activate: bool = True,
    monitor: Monitor | None = None,
) -> Published:
    """Train a version of the registered name `name`, evaluate it, export it and publish it.

    `kind` is needed only for a new name that handcalc does not ship. A model that
    reads with another (`params.reader`) takes its active version unless
    `encoder_version` (an autoencoder's) or `reader_version` (any other's) says.
    """
    started = time.perf_counter()
    chosen = settle_kind(name, store.kind_of(name), kind)
    if not isinstance(params, TrainingParams):
        params = chosen.validate_params(params)
    if dataset is None:
        dataset = load_mnist(data_source)
    run = Run(
        name,
        chosen,
        params,
        dataset,
        store,
        monitor or Monitor(),
        encoder_version=encoder_version,
        reader_version=reader_version,
    )
    implementation = chosen.load()
    outcome = implementation.train(run)
    run.monitor.raise_if_cancelled()

    model = portable(outcome.trained.model)
    endpoints = implementation.endpoints(model)
    flatbuffer, export_check = _export(name, chosen, model, endpoints, outcome.samples)
    x_train, x_test = dataset[0][0], dataset[1][0]
    metadata = {
        "kind": chosen.name,
        "params": params.model_dump(),
        "metrics": outcome.metrics,
        "history": outcome.trained.history,
        "lineage": outcome.lineage,
        **outcome.metadata,
        "data": {
            "source": str(data_source) if data_source else "in-memory dataset",
            "digest": digest(dataset),
            "train_images": len(limit(x_train, params)),
            "test_images": len(x_test),
        },
        **export_check,
        "training_wall_time_s": round(outcome.trained.wall_time_s, 2),
        "training_precision": outcome.trained.precision,
        "device": "gpu" if has_gpu() else "cpu",
        "libraries": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
        },
    }
    with store.stage(name) as staging:
        model.save(staging / KERAS_FILE)
        (staging / LITERT_FILE).write_bytes(flatbuffer)
        run.monitor.raise_if_cancelled()  # the export and the save take seconds
        # The pictures are part of the version: drawn into the staging folder, so the
        # manifest vouches for them and the one rename publishes them with the model.
        metadata["figures"] = figures_for(
            name, chosen.name, model, metadata, dataset[1], staging / FIGURES_DIR
        )
        run.monitor.raise_if_cancelled()
        version = store.publish(name, staging, metadata)
    if activate:
        store.activate(name, version.version)
    return Published(
        name,
        version.version,
        outcome.metrics,
        time.perf_counter() - started,
        activate,
        outcome.lineage,
        chosen.name,
    )


def _export(
    name: str, kind: Kind, model: keras.Model, endpoints: dict, samples: dict
) -> tuple[bytes, dict[str, Any]]:
    """The LiteRT flatbuffer to publish, and what checking it against Keras found: int8
    weights for a kind that serves decisions when they stay Keras' decisions, else float32
    with outputs within `LITERT_TOLERANCE` of Keras' (or nothing is published)."""
    signatures = kind.signatures
    if kind.quantize_export:
        flatbuffer = export_litert(model, signatures, endpoints, quantize=True)
        check = compare_export(signatures, endpoints, flatbuffer, samples)
        if check.agreement >= MIN_AGREEMENT:
            return flatbuffer, {
                "litert_weights": "int8",
                "litert_decision_agreement": check.agreement,
                "litert_max_abs_diff": check.max_abs_diff,
            }
        logger.warning(
            "the int8 export of %s took %.2f%% of Keras' decisions (%.2f%% needed); "
            "publishing float32 weights",
            name,
            100 * check.agreement,
            100 * MIN_AGREEMENT,
        )
    flatbuffer = export_litert(model, signatures, endpoints)
    difference = compare_export(signatures, endpoints, flatbuffer, samples).max_abs_diff
    if difference > LITERT_TOLERANCE:
        raise RuntimeError(
            f"the LiteRT export of {name} differs from Keras by {difference:.2e} "
            f"(tolerance {LITERT_TOLERANCE:g}); not publishing"
        )
    return flatbuffer, {"litert_weights": "float32", "litert_max_abs_diff": difference}
