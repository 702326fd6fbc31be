"""Strokes that meet only through faint ink: two digits set a pixel apart, blurred into one.

When neighbouring digits nearly touch, the anti-aliased edges of their strokes (or a
scanner's blur) leave a bridge of faint ink between them, and the two digits come out
as one connected stroke. Where that stroke is no wider than a digit can be (a 1 beside
a 6), nothing later cuts it, and the reader reads "61" as a 6 with full confidence.

So each stroke wide enough to hold two digits is looked at again with a stricter
threshold. When it falls into two or more parts that are each nearly a digit's height
and have blank columns between them, the stroke is parted between them: every pixel
goes to the nearest part. The digits that stay one stroke at the stricter threshold
(nearly all of MNIST's) are left alone; the parts of one that does not may still be
joined back by the reader's judgement (`models.numbers.fragments.join_halves`).

No TensorFlow here: the API imports this module.
"""

from __future__ import annotations

import itertools

import numpy as np

STRICT = 0.4
"""Ink at this share of the strongest is a stroke's body; below it, only its blurred edge.
At 0.5, thin-penned 4s whose bar meets the stem in a lighter pixel came apart too."""
TALL = 0.8
"""Each part must be at least this share of the digit height tall (at 0.6, the bar of a
wide 4 drawn alone came apart from its stem),"""
WIDE = 0.5
"""the stroke at least this share of it wide (two digits side by side), and neighbouring
parts' bodies must have a blank column between them (else they are one digit's strokes:
the bar and stem of a 4)."""


def part_faint_joints(ink: np.ndarray, labels: np.ndarray, height: float) -> int:
    """Part, in place in `labels`, every stroke whose digit-sized pieces meet only through
    faint ink; returns the new count of strokes (labels stay 1..count)."""
    from scipy import ndimage

    count = int(labels.max())
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        rows, cols = box
        if rows.stop - rows.start < TALL * height or cols.stop - cols.start < WIDE * height:
            continue
        mine = labels[box] == index
        body, parts = ndimage.label(mine & (ink[box] >= STRICT), structure=np.ones((3, 3)))
        if parts < 2:
            continue
        tall = _tall_parts(body, parts, TALL * height)
        if len(tall) < 2:
            continue
        nearest = _nearest_part(body, tall)
        region = labels[box]  # a view: writing to it parts the stroke in `labels`
        for part in tall[1:]:
            count += 1
            region[mine & (nearest == part)] = count
    return count


def _tall_parts(body: np.ndarray, parts: int, least: float) -> list[int]:
    """The labels of the parts at least `least` tall, when a blank column parts each from
    the next (left to right); else none."""
    from scipy import ndimage

    spans = [
        (label, rows.stop - rows.start, cols.start, cols.stop)
        for label, (rows, cols) in enumerate(ndimage.find_objects(body, parts), start=1)
    ]
    tall = sorted((s for s in spans if s[1] >= least), key=lambda s: s[2])
    for (_, _, left_a, right_a), (_, _, left_b, right_b) in itertools.pairwise(tall):
        if min(right_a, right_b) - max(left_a, left_b) >= 0:
            return []
    return [label for label, *_ in tall]


def _nearest_part(body: np.ndarray, tall: list[int]) -> np.ndarray:
    """For every pixel, the label of the nearest tall part."""
    from scipy import ndimage

    seeds = np.isin(body, tall)
    _, (rows, cols) = ndimage.distance_transform_edt(~seeds, return_indices=True)
    return body[rows, cols]
