"""Draw a handwritten-looking number from single digit images (MNIST's, say).

The tests, the numbers benchmark and the examples use this to make images of whole
numbers whose digits are known: digits set side by side with uneven gaps (or
touching and overlapping), a little vertical jitter and a sloping baseline, some
digits broken into separate strokes, specks and paper noise, dark ink on light
paper or the reverse. Every draw comes from the `rng` passed in, so a seed gives
the same image.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Style:
    gap: tuple[float, float] = (1.0, 6.0)
    """Blank columns between digits, drawn uniformly from this range, in 28-px digit units.
    A negative gap makes neighbours overlap (their ink is merged)."""
    jitter: float = 1.5
    """Largest vertical shift of a digit either way, in digit units."""
    slope_degrees: float = 0.0
    """Largest slope of the baseline either way (drawn per number)."""
    scale: float = 2.0
    """Output pixels per digit pixel."""
    broken: float = 0.0
    """Share of digits cut in two by a blank band across them (separate strokes)."""
    specks: int = 0
    """Small dots scattered over the paper."""
    noise: float = 0.0
    """Standard deviation of the paper's grain, as a share of the ink's full range."""
    dark_on_light: bool = True
    margin: int = 6
    """Blank border around the number, in digit units."""


TOUCHING = Style(gap=(-3.0, 0.0))
ROUGH = Style(gap=(-1.0, 8.0), jitter=2.5, slope_degrees=3.0, broken=0.2, specks=12, noise=0.03)


@dataclass(frozen=True)
class Rendered:
    pixels: np.ndarray
    """uint8 grey levels, `(height, width)`."""
    boxes: list[tuple[int, int, int, int]]
    """Each digit's ink as (x, y, width, height) in `pixels`, left to right."""

    def png(self) -> bytes:
        return to_png(self.pixels)


def render(
    digits: Sequence[np.ndarray], rng: np.random.Generator, style: Style = Style()
) -> Rendered:
    """One image of `digits` (each `(28, 28)`, ink high, uint8 or floats in [0, 1]) in a row."""
    if not len(digits):
        raise ValueError("a number needs at least one digit")
    crops = [_ink_columns(_as_float(digit)) for digit in digits]
    gaps = rng.uniform(*style.gap, size=len(crops))
    gaps[0] = 0.0
    slope = np.tan(np.radians(rng.uniform(-style.slope_degrees, style.slope_degrees)))
    lefts, x = [], 0.0
    for crop, gap in zip(crops, gaps, strict=True):
        x = max(0.0, x + gap) if lefts else 0.0
        left = round(x)
        lefts.append(left)
        x = left + crop.shape[1]
    width = lefts[-1] + crops[-1].shape[1]
    rise = abs(slope) * width
    margin = style.margin
    canvas = np.zeros((28 + 2 * margin + int(np.ceil(rise + 2 * style.jitter)), width + 2 * margin))
    boxes = []
    for crop, left in zip(crops, lefts, strict=True):
        centre = left + crop.shape[1] / 2
        drop = (slope * centre if slope >= 0 else rise + slope * centre) + rng.uniform(
            0, 2 * style.jitter
        )
        top, column = margin + round(drop), margin + left
        if rng.random() < style.broken:
            crop = _broken(crop, rng)
        region = canvas[top : top + 28, column : column + crop.shape[1]]
        np.maximum(region, crop, out=region)
        boxes.append(_ink_box(crop, column, top))
    canvas = _scaled(canvas, style.scale)
    boxes = [tuple(round(v * style.scale) for v in box) for box in boxes]
    for _ in range(style.specks):
        _speck(canvas, rng, style.scale)
    if style.noise:
        canvas = canvas + rng.normal(0.0, style.noise, canvas.shape)
    canvas = np.clip(canvas, 0.0, 1.0)
    if style.dark_on_light:
        canvas = 1.0 - canvas
    return Rendered(np.round(canvas * 255).astype(np.uint8), boxes)


def to_png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _as_float(digit: np.ndarray) -> np.ndarray:
    digit = np.asarray(digit)
    if digit.shape != (28, 28):
        raise ValueError(f"digits must be 28x28, got {digit.shape}")
    return digit.astype(np.float64) / 255.0 if digit.dtype == np.uint8 else digit.astype(float)


def _ink_columns(digit: np.ndarray) -> np.ndarray:
    columns = np.flatnonzero(digit.max(axis=0) > 0.1)
    if not len(columns):
        raise ValueError("a digit image has no ink")
    return digit[:, columns[0] : columns[-1] + 1]


def _ink_box(crop: np.ndarray, left: int, top: int) -> tuple[int, int, int, int]:
    rows = np.flatnonzero(crop.max(axis=1) > 0.1)
    return left, top + int(rows[0]), crop.shape[1], int(rows[-1] - rows[0] + 1)


def _broken(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The digit with a blank band two pixels high across it, somewhere in its middle."""
    rows = np.flatnonzero(crop.max(axis=1) > 0.1)
    height = rows[-1] - rows[0]
    cut = int(rows[0] + rng.uniform(0.3, 0.7) * height)
    broken = crop.copy()
    broken[cut : cut + 2] = 0.0
    return broken


def _scaled(canvas: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1.0:
        return canvas
    height, width = canvas.shape
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    image = Image.fromarray(canvas.astype(np.float32), mode="F")
    return np.asarray(image.resize(size, Image.Resampling.BILINEAR), dtype=np.float64)


def _speck(canvas: np.ndarray, rng: np.random.Generator, scale: float) -> None:
    radius = rng.uniform(0.4, 1.0) * scale
    y, x = rng.uniform(0, canvas.shape[0]), rng.uniform(0, canvas.shape[1])
    rows, cols = np.ogrid[: canvas.shape[0], : canvas.shape[1]]
    dot = ((rows - y) ** 2 + (cols - x) ** 2) <= radius**2
    canvas[dot] = np.maximum(canvas[dot], rng.uniform(0.5, 1.0))
