"""Accuracy by digit pair: how often an arithmetic head, or a reader, gets the exact result
for each of the 100 pairs of digits, on the test pairs its recorded accuracy counts."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from models.figures.render import heat_map, new_figure
from models.figures.subject import Subject
from models.training.evaluation import PairScores, head_scores, reading_scores

OPERATIONS = ("add", "multiply", "compare")


def pair_table(scores: PairScores, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`(10, 10)` accuracy and count of test pairs by (first digit, second digit); a pair
    of digits that no test pair has is NaN."""
    first, second = labels[scores.pairs[:, 0]], labels[scores.pairs[:, 1]]
    counts = np.zeros((10, 10), np.int64)
    right = np.zeros((10, 10), np.int64)
    np.add.at(counts, (first, second), 1)
    np.add.at(right, (first, second), scores.correct.astype(np.int64))
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.where(counts > 0, right / np.maximum(counts, 1), np.nan)
    return accuracy, counts


def pair_scores(subject: Subject) -> dict[str, PairScores]:
    """The scores by operation: a head's own operation; each operation for a reader."""
    if subject.kind in OPERATIONS:
        return {
            subject.kind: head_scores(subject.kind, subject.model, subject.images, subject.labels)
        }
    readings = subject.probabilities
    return {name: reading_scores(name, readings, subject.labels) for name in OPERATIONS}


def pair_accuracy(subject: Subject) -> Figure:
    scores = pair_scores(subject)
    figure = new_figure(4.6 * len(scores), 4.2)
    panels = figure.subplots(1, len(scores), squeeze=False)[0]
    for axes, (name, score) in zip(panels, scores.items(), strict=True):
        accuracy, _counts = pair_table(score, subject.labels)
        low = min(0.5, float(np.nanmin(accuracy)))
        heat_map(figure, axes, accuracy, limits=(low, 1.0), number_format=".0%")
        axes.set_xlabel("second digit")
        axes.set_ylabel("first digit")
        pairs_scored = len(score.correct)
        axes.set_title(f"{name}: {score.accuracy:.2%} of {pairs_scored:,} test pairs", fontsize=9)
    figure.suptitle(f"{subject.title}: exact results by digit pair", fontsize=10)
    return figure
