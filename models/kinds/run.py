"""What a kind's `train` receives and returns, and the readers one model lends another.

Imports TensorFlow: only the processes that train load this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from models.artifacts.catalog import KERAS_FILE
from models.artifacts.registry import Version
from models.artifacts.stores import Store
from models.data import Dataset
from models.kinds import Kind, get_kind
from models.params import TrainingParams, source_version
from models.training.fit import Monitor, Trained

SAMPLES = 1000
"""Inputs per signature on which the LiteRT export is checked against Keras: its outputs,
and for an int8 export its decisions (so that 2 in 1,000 changed can be told)."""


@dataclass
class Run:
    """One training run of a registered name."""

    name: str
    kind: Kind
    params: TrainingParams
    dataset: Dataset
    store: Store
    monitor: Monitor
    encoder_version: int | None = None
    reader_version: int | None = None

    def reader(self) -> tuple[keras.Model, dict[str, int]]:
        """The network `params.reader` names, and the lineage it brings.

        The lineage names the reader's version and every version that one descends
        from, so a model records all it was built on.
        """
        source = self.params.reader
        version = source_version(source, self.encoder_version, self.reader_version)
        model, stored = load_keras_model(self.store, source, version or "active")
        kind = self.store.kind_of(source)
        if kind not in self.kind.reads_with:
            raise ValueError(
                f"a {self.kind.name} cannot read with {source!r}, of kind {kind}; it reads "
                f"with one of kind {', '.join(sorted(self.kind.reads_with))}"
            )
        reader = get_kind(kind).load().reader(model)
        return reader, {source: stored.version, **stored.lineage}


@dataclass
class Outcome:
    """What a kind's training leaves for the pipeline to check, export and publish."""

    trained: Trained
    metrics: dict[str, float]
    samples: dict[str, np.ndarray]
    """Signature -> a batch of inputs on which to compare LiteRT with Keras."""
    lineage: dict[str, int] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    """Kind-specific metadata, e.g. the latent's length and range."""


def load_keras_model(
    store: Store, name: str, version: int | str = "active"
) -> tuple[keras.Model, Version]:
    """A stored Keras model and its `Version`, loaded in safe mode (no code runs)."""
    stored = store.resolve(name, version)
    model = keras.saving.load_model(stored.file(KERAS_FILE), compile=False, safe_mode=True)
    return model, stored
