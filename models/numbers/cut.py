"""Cut an image of a handwritten number into its digits, left to right.

The ink (found as for a single digit: either polarity, paper subtracted) is split
into connected strokes. Then, in order:

0. a stroke whose digit-sized parts meet only through faint ink (two digits set a
   pixel apart, blurred together) is parted between them (`models.numbers.joints`);
1. specks: strokes far smaller than the digits around them are paper noise;
2. digits made of several strokes (a 5's flag, a broken 4) are joined: strokes
   whose columns mostly overlap belong to one digit; with a digit reader at hand,
   smaller pieces beside a digit join it, and neighbours whose columns meet join
   each other, when the reader is surer of them so (`models.numbers.fragments`);
3. marks much shorter than the digits (a comma or a dot between digit groups) are
   dropped;
4. digits that touch or overlap come out as one wide piece, cut into digits by
   `models.numbers.split`: by a digit reader's confidence in the pieces when one is
   given, else where the ink is thinnest and the pieces are of a digit's width.

Each digit is then prepared exactly as a single upload is (`preprocess.normalise`),
and a number of one digit is exactly today's single-digit input.

No TensorFlow here: the API imports this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from models.numbers import fragments, joints
from models.numbers.split import Group, Judge, Page, Piece, split
from models.preprocess import (
    INK_THRESHOLD,
    MAX_PIXELS,
    TO_UNIT,
    ImageError,
    decode,
    ink_map,
    mnist_form,
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
DIGIT_SHARE = 0.6
"""Once strokes are joined, groups under this share of the tallest one's height do not
count towards the digit height."""
MIN_DIGIT_HEIGHT = 0.4
"""Marks shorter than this share of the digit height are punctuation, not digits."""
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


def cut_number(
    data: bytes,
    *,
    max_pixels: int = MAX_PIXELS,
    max_digits: int = MAX_DIGITS,
    judge: Judge | None = None,
    keep_whole: bool = False,
) -> list[Digit]:
    """The digits of the number in an uploaded image, left to right.

    With a `judge` (a digit reader's confidence), a piece wide enough to be several
    touching digits is cut the way the reader is surest of, which may be not at all: a
    wide 2 or 4 stays whole, touching 1s come apart. With `keep_whole`, every separate
    piece of ink is one digit, however wide (for models that read single digits). `ImageError` for
    anything that is not an image of ink; `TooManyDigits` over `max_digits`.
    """
    image = decode(data, max_pixels=max_pixels)
    ready = mnist_form(image)
    if ready is not None:
        return [Digit(ready, _strong_box(image))]
    return cut_ink(ink_map(image), max_digits=max_digits, judge=judge, keep_whole=keep_whole)


def cut_ink(
    ink: np.ndarray,
    *,
    max_digits: int = MAX_DIGITS,
    judge: Judge | None = None,
    keep_whole: bool = False,
) -> list[Digit]:
    """`cut_number` on an ink map (paper 0, strongest ink 1)."""
    if max_digits < 1:
        raise ValueError("max_digits must be at least 1")
    from scipy import ndimage  # here, not at import: 0.3 s and 28 MB a server may never need

    shrink = max(1.0, math.sqrt(ink.size / WORK_PIXELS))
    work = _shrunk(ink, shrink)
    labels, count = ndimage.label(work > INK_THRESHOLD, structure=np.ones((3, 3)))
    if count == 0:
        raise ImageError("the image is blank: no ink stands out from the background")
    strokes = _strokes(labels, count)
    height = _digit_height(strokes)
    if not keep_whole:
        parted = joints.part_faint_joints(work, labels, height)
        strokes = strokes if parted == count else _strokes(labels, parted)
    strokes = [s for s in strokes if not _is_speck(s, height)] or strokes
    if len(strokes) > MARKS_PER_DIGIT * max_digits:
        raise TooManyDigits(
            f"the image has {len(strokes):,} separate marks: that is not a number of at most "
            f"{max_digits} digits"
        )
    groups = _join_overlapping(strokes)
    # a digit of separate strokes is taller than each; a 5's flag is no digit's height
    height = _digit_height(groups, of_digits=True)
    page = Page(work, labels)
    if judge is not None and not keep_whole:
        groups = fragments.attach(groups, page, judge)
        groups = fragments.join_halves(groups, page, height, judge)
    tall = [g for g in groups if g.height >= MIN_DIGIT_HEIGHT * height]
    groups = tall or groups
    if keep_whole:
        pieces = [Piece.whole(group) for group in groups]
    else:
        alone = len(groups) == 1
        pieces = [p for group in groups for p in split(group, page, height, judge, alone=alone)]
    if len(pieces) > max_digits:
        raise TooManyDigits(
            f"the number has {len(pieces)} digits, over the limit of {max_digits} per number"
        )
    if len(pieces) == 1:  # one digit: exactly the single-digit path, on the full image
        return [Digit(normalise(ink), _box_of(ink))]
    return [_digit(piece, page, shrink, ink.shape) for piece in pieces]


def _is_speck(stroke: Group, digit_height: float) -> bool:
    small = stroke.area < SPECK_AREA * digit_height**2
    return small and max(stroke.height, stroke.width) < SPECK_SIDE * digit_height


def _strokes(labels: np.ndarray, count: int) -> list[Group]:
    from scipy import ndimage

    areas = np.bincount(labels.ravel(), minlength=count + 1)
    return [
        Group([index], rows.start, rows.stop, cols.start, cols.stop, int(areas[index]))
        for index, (rows, cols) in enumerate(ndimage.find_objects(labels), start=1)
    ]


def _digit_height(groups: list[Group], *, of_digits: bool = False) -> float:
    largest = max(g.area for g in groups)
    heights = [g.height for g in groups if g.area >= MAJOR_AREA * largest]
    if of_digits:  # leave out pieces far shorter than the tallest (fragments of a digit)
        heights = [h for h in heights if h >= DIGIT_SHARE * max(heights)]
    # the upper median: of two digits, the taller (a wide digit is the flatter one)
    return float(sorted(heights)[len(heights) // 2])


def _join_overlapping(strokes: list[Group]) -> list[Group]:
    groups: list[Group] = []
    for stroke in sorted(strokes, key=lambda s: (s.left, -s.width)):
        if groups and _shared_columns(groups[-1], stroke) >= SAME_DIGIT_OVERLAP:
            groups[-1].absorb(stroke)
        else:
            groups.append(Group(list(stroke.labels), *_bounds(stroke), stroke.area))
    return groups


def _bounds(group: Group) -> tuple[int, int, int, int]:
    return group.top, group.bottom, group.left, group.right


def _shared_columns(a: Group, b: Group) -> float:
    overlap = min(a.right, b.right) - max(a.left, b.left)
    return max(0, overlap) / max(1, min(a.width, b.width))


def _digit(piece: Piece, page: Page, shrink: float, shape: tuple[int, int]) -> Digit:
    group = piece.group
    image = page.image(piece)
    height, width = shape
    box = (
        int(piece.left * shrink),
        int(group.top * shrink),
        min(width, math.ceil(piece.right * shrink)) - int(piece.left * shrink),
        min(height, math.ceil(group.bottom * shrink)) - int(group.top * shrink),
    )
    return Digit(image, box)


def _box_of(ink: np.ndarray) -> tuple[int, int, int, int]:
    strong = ink > INK_THRESHOLD
    rows, cols = np.flatnonzero(strong.any(axis=1)), np.flatnonzero(strong.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


_LEVELS = np.arange(256, dtype=np.uint8) * TO_UNIT  # each grey level as the quick path scales it
_STRONG = [255 if strong else 0 for strong in _LEVELS > INK_THRESHOLD]
"""Grey level -> 255 where `_box_of` counts the pixel as ink, for `_strong_box`."""


def _strong_box(image: Image.Image) -> tuple[int, int, int, int]:
    """`_box_of` an 8-bit grey image's pixels over 255, in Pillow's C code (a lookup and a
    bounding box) rather than four numpy calls: this runs on every digit upload."""
    left, top, right, bottom = image.im.point(_STRONG, None).getbbox(False)
    return left, top, right - left, bottom - top


def _shrunk(ink: np.ndarray, factor: float) -> np.ndarray:
    if factor <= 1.0:
        return ink
    height, width = ink.shape
    size = (max(1, round(width / factor)), max(1, round(height / factor)))
    image = Image.fromarray(ink.astype(np.float32), mode="F")
    return np.asarray(image.resize(size, Image.Resampling.BOX), dtype=np.float32)
