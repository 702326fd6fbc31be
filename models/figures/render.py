"""Drawing with matplotlib's Agg backend, off screen, and saving small PNGs.

Figures are built with `matplotlib.figure.Figure` directly, never through pyplot, so
no global state is shared between the threads or jobs of a worker.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from PIL import Image

matplotlib.use("Agg")

DPI = 72
"""Modest, so a figure weighs tens of kilobytes."""

DIGIT_COLOURS = "tab10"
"""The colour map that tells the ten digits apart."""


def new_figure(width: float, height: float) -> Figure:
    """An empty figure of `width` x `height` inches, laid out to fit its labels."""
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def png_bytes(figure: Figure) -> bytes:
    """The figure as a PNG of at most 256 colours (a third of the bytes of full colour, and
    no difference to see in plots and digits)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    buffer = io.BytesIO()
    image.quantize(colors=256, dither=Image.Dither.NONE).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def save(figure: Figure, path: Path) -> Path:
    """Write the figure to `path` as a PNG."""
    path.write_bytes(png_bytes(figure))
    return path


def show_digit(axes: Axes, pixels: np.ndarray, title: str | None = None, **title_options) -> None:
    """A 28x28 grey image, ink dark on white, with no ticks."""
    axes.imshow(
        np.asarray(pixels, np.float32), cmap="gray_r", vmin=0.0, vmax=1.0, interpolation="nearest"
    )
    axes.set_xticks([])
    axes.set_yticks([])
    if title is not None:
        axes.set_title(title, **title_options)


def digit_sheet(images: np.ndarray, columns: int) -> np.ndarray:
    """Images `(N, H, W)` tiled into one array, `columns` wide, a 2-pixel gap between them."""
    count, height, width = images.shape
    rows = -(-count // columns)
    gap = 2
    sheet = np.zeros((rows * (height + gap) - gap, columns * (width + gap) - gap), np.float32)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        top, left = row * (height + gap), column * (width + gap)
        sheet[top : top + height, left : left + width] = image
    return sheet


def heat_map(
    figure: Figure,
    axes: Axes,
    values: np.ndarray,
    *,
    colour_map: str = "viridis",
    limits: tuple[float, float] | None = None,
    number_format: str | None = None,
) -> None:
    """A 10x10 table of numbers as colours, digits 0-9 on both axes, with a colour bar;
    `number_format` also writes each number in its cell."""
    if limits is None:
        limits = (float(np.nanmin(values)), float(np.nanmax(values)))
    low, high = limits
    image = axes.imshow(values, cmap=colour_map, vmin=low, vmax=high)
    axes.set_xticks(range(values.shape[1]))
    axes.set_yticks(range(values.shape[0]))
    figure.colorbar(image, ax=axes, shrink=0.8)
    if number_format is None:
        return
    for (row, column), value in np.ndenumerate(values):
        if np.isnan(value):
            continue
        red, green, blue, _alpha = image.cmap(image.norm(value))
        colour = "white" if 0.299 * red + 0.587 * green + 0.114 * blue < 0.5 else "black"
        text = format(value, number_format)
        axes.text(column, row, text, ha="center", va="center", fontsize=6, color=colour)
