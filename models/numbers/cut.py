"""Cut an image of a handwritten number into its digits, left to right.

The ink (found as for a single digit: either polarity, paper subtracted) is split
into connected strokes. Then, in order:

1. specks: strokes far smaller than the digits around them are paper noise;
2. digits made of several strokes (a 5's flag, a broken 4) are joined: strokes
   whose columns mostly overlap belong to one digit;
3. marks much shorter than the digits (a comma or a dot between digit groups) are
   dropped;
4. digits that touch or overlap come out as one wide piece; a piece as wide as n
   digits is cut n ways, each cut at the column with the least ink near where an
   even split would put it.

Each digit is then prepared exactly as a single upload is (`preprocess.normalise`),
and a number of one digit is exactly today's single-digit input.

No TensorFlow here: the API imports this module.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from models.preprocess import (
    INK_THRESHOLD,
    MAX_PIXELS,
    SIDE,
    ImageError,
    decode,
    ink_map,
    is_mnist_form,
    normalise,
)

MAX_DIGITS = 100
WORK_PIXELS = 2_000_000
"""Larger images are cut at a reduced size (the digits keep their own full resolution
only as far as this allows); labelling strokes then costs milliseconds at most."""

SPECK_AREA = 0.02
"""A stroke under this share of the digit height squared, and small in both directions,
is a speck."""
SPECK_SIDE = 0.3
MAJOR_AREA = 0.1
"""Strokes over this share of the largest stroke's area set the digit height."""
SAME_DIGIT_OVERLAP = 0.5
"""Strokes sharing this share of the narrower one's columns are one digit."""
MIN_DIGIT_HEIGHT = 0.4
"""Marks shorter than this share of the digit height are punctuation, not digits."""
DIGIT_WIDTH = 0.65
"""The width a digit is expected to take, as a share of its height (MNIST's median digit is
0.75 as wide as it is tall; touching digits overlap a little)."""
NARROWEST, WIDEST = 0.15, 1.15
"""The narrowest and widest a digit can be, as shares of its height. In the test subset
(tests/data), 1% of the digits are under 0.2 of their height wide, and 5% over 1.11: a
piece wider than WIDEST is cut, which splits those few wide digits too."""
CUT_PRICE = 0.2
"""What a cut costs before the ink it crosses (a column of full ink costs 1 more)."""
WIDTH_PRICE = 1.0
"""What a piece costs per squared relative difference from the typical width."""
MARKS_PER_DIGIT = 8
"""More separate marks than this per allowed digit is not a number."""


class TooManyDigits(ImageError):
    """More digits than one number may have."""


@dataclass(frozen=True)
class Digit:
    image: np.ndarray
    """`(28, 28)` float32 in [0, 1], ink high: a model input."""
    box: tuple[int, int, int, int]
    """The digit's ink as (x, y, width, height) in the uploaded image's pixels."""


Judge = Callable[[np.ndarray], np.ndarray]
"""`(k, 28, 28)` digit inputs -> `(k,)` probabilities of each one's most likely reading."""


def cut_number(
    data: bytes,
    *,
    max_pixels: int = MAX_PIXELS,
    max_digits: int = MAX_DIGITS,
    judge: Judge | None = None,
) -> list[Digit]:
    """The digits of the number in an uploaded image, left to right.

    With a `judge` (a digit reader's confidence), a piece wide enough to be several
    touching digits is cut only when the reader is surer of the cut pieces, together,
    than of the whole as one digit: a wide 2 or 4 stays whole. `ImageError` for
    anything that is not an image of ink; `TooManyDigits` over `max_digits`.
    """
    image = decode(data, max_pixels=max_pixels)
    if image.size == (SIDE, SIDE) and image.mode == "L":
        pixels = np.asarray(image)
        if is_mnist_form(pixels):
            image = pixels.astype(np.float32) * np.float32(1 / 255)
            return [Digit(image, _box_of(image))]
    return cut_ink(ink_map(image), max_digits=max_digits, judge=judge)


def cut_ink(
    ink: np.ndarray, *, max_digits: int = MAX_DIGITS, judge: Judge | None = None
) -> list[Digit]:
    """`cut_number` on an ink map (paper 0, strongest ink 1)."""
    if max_digits < 1:
        raise ValueError("max_digits must be at least 1")
    shrink = max(1.0, math.sqrt(ink.size / WORK_PIXELS))
    work = _shrunk(ink, shrink)
    labels, count = ndimage.label(work > INK_THRESHOLD, structure=np.ones((3, 3)))
    if count == 0:
        raise ImageError("the image is blank: no ink stands out from the background")
    strokes = _strokes(labels, count)
    height = _digit_height(strokes)
    strokes = [s for s in strokes if not s.is_speck(height)] or strokes
    if len(strokes) > MARKS_PER_DIGIT * max_digits:
        raise TooManyDigits(
            f"the image has {len(strokes):,} separate marks: that is not a number of at most "
            f"{max_digits} digits"
        )
    groups = _join_overlapping(strokes)
    height = _digit_height(groups)  # a digit of separate strokes is taller than each
    tall = [g for g in groups if g.height >= MIN_DIGIT_HEIGHT * height]
    groups = tall or groups
    pieces: list[_Piece] = []
    for group in groups:
        split = _split(group, labels, work, height)
        if len(split) > 1 and judge is not None:
            split = _judged(group, split, labels, work, judge)
        pieces += split
    if len(pieces) > max_digits:
        raise TooManyDigits(
            f"the number has {len(pieces)} digits, over the limit of {max_digits} per number"
        )
    if len(pieces) == 1:  # one digit: exactly the single-digit path, on the full image
        return [Digit(normalise(ink), _box_of(ink))]
    return [_digit(piece, labels, work, shrink, ink.shape) for piece in pieces]


@dataclass
class _Group:
    """Strokes read as one digit (or several touching ones), with their bounding box."""

    labels: list[int]
    top: int
    bottom: int
    left: int
    right: int
    area: int

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left

    def is_speck(self, digit_height: float) -> bool:
        small = self.area < SPECK_AREA * digit_height**2
        return small and max(self.height, self.width) < SPECK_SIDE * digit_height

    def absorb(self, other: _Group) -> None:
        self.labels += other.labels
        self.top, self.bottom = min(self.top, other.top), max(self.bottom, other.bottom)
        self.left, self.right = min(self.left, other.left), max(self.right, other.right)
        self.area += other.area


def _strokes(labels: np.ndarray, count: int) -> list[_Group]:
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    return [
        _Group([index], rows.start, rows.stop, cols.start, cols.stop, int(areas[index]))
        for index, (rows, cols) in enumerate(ndimage.find_objects(labels), start=1)
    ]


def _digit_height(groups: list[_Group]) -> float:
    largest = max(g.area for g in groups)
    return float(np.median([g.height for g in groups if g.area >= MAJOR_AREA * largest]))


def _join_overlapping(strokes: list[_Group]) -> list[_Group]:
    groups: list[_Group] = []
    for stroke in sorted(strokes, key=lambda s: (s.left, -s.width)):
        if groups and _shared_columns(groups[-1], stroke) >= SAME_DIGIT_OVERLAP:
            groups[-1].absorb(stroke)
        else:
            groups.append(_Group(list(stroke.labels), *_bounds(stroke), stroke.area))
    return groups


def _bounds(group: _Group) -> tuple[int, int, int, int]:
    return group.top, group.bottom, group.left, group.right


def _shared_columns(a: _Group, b: _Group) -> float:
    overlap = min(a.right, b.right) - max(a.left, b.left)
    return max(0, overlap) / max(1, min(a.width, b.width))


@dataclass(frozen=True)
class _Piece:
    group: _Group
    left: int
    right: int


def _split(group: _Group, labels: np.ndarray, work: np.ndarray, height: float) -> list[_Piece]:
    """`group` cut into digits where it is wider than one digit can be.

    The cuts are chosen together, by dynamic programming over the columns: each cut
    costs a fixed price plus the ink it goes through, and each piece a penalty for
    straying from the typical digit width; no piece may be narrower than a thin 1 or
    wider than a wide 0.
    """
    width = DIGIT_WIDTH * height
    narrowest, widest = max(1, int(NARROWEST * height)), max(2, int(WIDEST * height))
    if group.width <= widest:
        return [_Piece(group, group.left, group.right)]
    region = np.isin(labels[group.top : group.bottom, group.left : group.right], group.labels)
    profile = (work[group.top : group.bottom, group.left : group.right] * region).sum(axis=0)
    profile = profile / max(float(np.percentile(profile, 90)), 1e-6)
    cost = np.full(group.width + 1, np.inf)
    cost[0] = 0.0
    previous = np.zeros(group.width + 1, dtype=np.int64)
    for stop in range(narrowest, group.width + 1):
        starts = np.arange(max(0, stop - widest), stop - narrowest + 1)
        crossed = profile[np.minimum(starts, len(profile) - 1)]
        cut_price = np.where(starts > 0, CUT_PRICE + crossed, 0.0)
        spread = ((stop - starts) - width) / width
        total = cost[starts] + cut_price + WIDTH_PRICE * spread**2
        best = int(total.argmin())
        cost[stop], previous[stop] = total[best], starts[best]
    if not np.isfinite(cost[-1]):
        count = max(1, round(group.width / width))
        cuts = [round(index * group.width / count) for index in range(count + 1)]
    else:
        cuts = [group.width]
        while cuts[-1] > 0:
            cuts.append(int(previous[cuts[-1]]))
        cuts.reverse()
    return [
        _Piece(group, group.left + start, group.left + stop)
        for start, stop in itertools.pairwise(cuts)
        if stop > start
    ]


def _judged(
    group: _Group, split: list[_Piece], labels: np.ndarray, work: np.ndarray, judge: Judge
) -> list[_Piece]:
    """`split`, or the whole group as one piece when the judge is surer of that."""
    whole = _Piece(group, group.left, group.right)
    candidates = np.stack([_image(piece, labels, work) for piece in (whole, *split)])
    confidence = np.log(np.clip(np.asarray(judge(candidates), np.float64), 1e-12, 1.0))
    return [whole] if confidence[0] >= confidence[1:].sum() else split


def _image(piece: _Piece, labels: np.ndarray, work: np.ndarray) -> np.ndarray:
    group = piece.group
    rows, cols = slice(group.top, group.bottom), slice(piece.left, piece.right)
    mine = np.isin(labels[rows, cols], group.labels)
    # take in the faint anti-aliased edge around the strokes, not the neighbours' ink
    edge = ndimage.binary_dilation(mine, structure=np.ones((3, 3)))
    ink = np.pad(work[rows, cols] * edge, 1)
    try:
        return normalise(ink)
    except ImageError:
        return np.zeros((SIDE, SIDE), np.float32)


def _digit(
    piece: _Piece, labels: np.ndarray, work: np.ndarray, shrink: float, shape: tuple[int, int]
) -> Digit:
    group = piece.group
    image = _image(piece, labels, work)
    height, width = shape
    box = (
        int(piece.left * shrink),
        int(group.top * shrink),
        min(width, math.ceil(piece.right * shrink)) - int(piece.left * shrink),
        min(height, math.ceil(group.bottom * shrink)) - int(group.top * shrink),
    )
    return Digit(image, box)


def _box_of(ink: np.ndarray) -> tuple[int, int, int, int]:
    rows = np.flatnonzero((ink > INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink > INK_THRESHOLD).any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def _shrunk(ink: np.ndarray, factor: float) -> np.ndarray:
    if factor <= 1.0:
        return ink
    height, width = ink.shape
    size = (max(1, round(width / factor)), max(1, round(height / factor)))
    image = Image.fromarray(ink.astype(np.float32), mode="F")
    return np.asarray(image.resize(size, Image.Resampling.BOX), dtype=np.float32)
