"""Pictures of a model version, drawn with matplotlib when the worker publishes it.

Each kind names its figures in the kinds table (`Kind.figures`); this package draws
them: `figures_for` writes `<figure>.png` for each into a folder, which the pipeline
stages with the version's other files, so the figures' digests are in its manifest.
`python -m models.figures --root starter` draws them again for a store's versions.

Imports Keras and matplotlib: only the processes that train load this, never the API.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
from matplotlib.figure import Figure

from models.figures import classifiers, curves, latents, pairs
from models.figures.render import save
from models.figures.subject import Subject
from models.kinds import get_kind

logger = logging.getLogger(__name__)

Draw = Callable[[Subject], Figure]

DRAWINGS: dict[str, Draw] = {
    "training-curves": curves.training_curves,
    "confusion-matrix": classifiers.confusion_matrix,
    "mistakes": classifiers.mistakes,
    "first-layer": classifiers.first_layer_figure,
    "reconstructions": latents.reconstructions,
    "latent-map": latents.latent_map,
    "samples": latents.samples,
    "manifold": latents.manifold,
    "pair-accuracy": pairs.pair_accuracy,
}
"""Every figure a kind may name, and the function that draws it."""


def figures_for(
    name: str,
    kind: str,
    model: keras.Model,
    metadata: dict[str, Any],
    test: tuple[np.ndarray, np.ndarray],
    folder: Path,
) -> list[str]:
    """Draw the figures of `kind` for a version of `name` into `folder` as
    `<figure>.png`; returns the names drawn, in the kind's order.

    `test` is the test split (uint8 images, labels); the labels colour and score the
    pictures, nothing more. A figure that cannot be drawn is logged and left out: a
    picture never costs a trained version.
    """
    subject = Subject(name, kind, model, metadata, test[0], test[1])
    folder.mkdir(parents=True, exist_ok=True)
    drawn = []
    for figure_name in get_kind(kind).figures:
        started = time.perf_counter()
        try:
            figure = DRAWINGS[figure_name](subject)
            save(figure, folder / f"{figure_name}.png")
        except Exception:
            logger.exception("could not draw %s for %s", figure_name, name)
            continue
        logger.info("drew %s for %s in %.2f s", figure_name, name, time.perf_counter() - started)
        drawn.append(figure_name)
    return drawn
