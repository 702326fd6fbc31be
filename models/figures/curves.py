"""Training curves: the loss and the other metrics a version recorded, epoch by epoch."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from models.figures.render import new_figure
from models.figures.subject import Subject

MAX_PANELS = 3


def curve_names(history: list[dict[str, Any]]) -> list[str]:
    """The series to draw, `loss` first: every recorded training metric except the epoch
    and the parts of a loss (`units_loss`, ...); each is drawn with its `val_` twin."""
    recorded = {key for epoch in history for key in epoch}
    others = sorted(
        key
        for key in recorded
        if key not in ("epoch", "loss") and not key.startswith("val_") and not key.endswith("_loss")
    )
    return (["loss"] if "loss" in recorded else []) + others


def training_curves(subject: Subject) -> Figure:
    history = subject.metadata.get("history") or []
    if not history:
        raise ValueError("the version recorded no training history")
    names = curve_names(history)[:MAX_PANELS]
    figure = new_figure(max(4.5, 3.2 * len(names)), 2.8)
    panels = figure.subplots(1, len(names), squeeze=False)[0]
    epochs = [entry.get("epoch", index + 1) for index, entry in enumerate(history)]
    for axes, name in zip(panels, names, strict=True):
        for key, label, style in ((name, "training", "-"), (f"val_{name}", "validation", "--")):
            points = [
                (epoch, entry[key])
                for epoch, entry in zip(epochs, history, strict=True)
                if key in entry
            ]
            if points:
                x, y = zip(*points, strict=True)
                axes.plot(x, y, style, marker="o", markersize=3, label=label)
        axes.set_title(name.replace("_", " "))
        axes.set_xlabel("epoch")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7)
    figure.suptitle(f"{subject.title}: training")
    return figure
