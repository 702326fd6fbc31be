"""Pieces of a digit that came apart from it: a 5's flag, the far stroke of a 4, the
faint broken-off dots some MNIST 1s carry beside them.

Such a fragment is shorter than a digit and narrow, or very flat, and does not share
enough columns with its digit to be joined to it by column overlap alone. Left as it
is, it becomes a digit of its own (a number one digit too long); dropped as a mark,
its digit is read without it (a 5 without its flag). When a digit reader is at hand
(`Judge`), each fragment close to a digit is given to the neighbour on its left or on
its right, or to neither, whichever the reader is surest of. Before that, fragments
whose columns meet and that together are a digit's size (a 5's flag above a small body)
are joined into one digit.

Neighbours whose columns meet (a digit broken top to bottom) are joined too, when the
reader is surer of them as one digit than as two. In `python -m bench.cutting`, numbers
drawn with half their digits broken came out right 98.0% of the time with the reader,
against 89.0% before these two steps (2-core Xeon). Without a reader, fragments are
left to the rules in `models.numbers.cut`.

No TensorFlow here: the reader comes in as a plain function.
"""

from __future__ import annotations

import itertools

import numpy as np

from models.numbers.split import WHOLE_MARGIN, WIDEST, Group, Judge, Page, Piece, sureness

SHORT = 0.85
"""A fragment is shorter than this share of the digit height..."""
NARROW = 0.4
"""...and narrower than this share of it,"""
FLAT = 0.35
"""...or flatter than this share of it, however wide (a 5's flag)."""
REACH = 0.3
"""A fragment may join a digit at most this share of the digit height away from it."""
SLIGHT = 0.3
"""A fragment near a digit that joins neither neighbour is dropped when its ink covers
less than this share of a typical digit's (the dots beside a 1), else kept (a 1 written
short)."""


def is_fragment(group: Group, height: float) -> bool:
    """Whether `group` is too small to be a digit of a number `height` tall."""
    flat = group.height < FLAT * height
    return flat or (group.height < SHORT * height and group.width < NARROW * height)


def attach(groups: list[Group], page: Page, judge: Judge) -> list[Group]:
    """`groups` (left to right) with every fragment near a digit given to the neighbour
    the `judge` reads best with it. One that improves neither is dropped when slight,
    else kept as it is, for the later rules; so is a fragment far from any digit.

    Sizes are measured against the tallest group: a number's digits are about as tall
    as each other, and the median of a digit and its flag is neither's height."""
    height = max(g.height for g in groups)
    groups = _pair_fragments(groups, height)
    digits, fragments = [], []
    for group in groups:
        (fragments if is_fragment(group, height) else digits).append(group)
    choices = [_neighbours(fragment, digits, height) for fragment in fragments]
    if not any(choices):
        return groups
    images = [
        page.image(Piece.whole(group))
        for fragment, neighbours in zip(fragments, choices, strict=True)
        for neighbour in neighbours
        for group in (neighbour, neighbour.joined(fragment))
    ]
    sure = sureness(judge, images).reshape(-1, 2)  # (alone, joined) for each neighbour
    slight = SLIGHT * float(np.median([d.area for d in digits]))
    grown: dict[int, Group] = {}  # id of a digit -> the digit with its fragments
    kept, row = [], 0
    for fragment, neighbours in zip(fragments, choices, strict=True):
        gains = sure[row : row + len(neighbours), 1] - sure[row : row + len(neighbours), 0]
        row += len(neighbours)
        if len(gains) and gains.max() > 0:
            best = neighbours[int(gains.argmax())]
            grown[id(best)] = grown.get(id(best), best).joined(fragment)
        elif not neighbours or fragment.area >= slight:
            kept.append(fragment)
    kept += [grown.get(id(digit), digit) for digit in digits]
    return sorted(kept, key=lambda g: g.left)


def _pair_fragments(groups: list[Group], height: float) -> list[Group]:
    """`groups` with neighbouring fragments whose columns meet joined where together they
    are a digit's size: a 5 whose flag and body came apart, neither a digit alone (given to
    the neighbours one by one, the body went to the digit beside it and the flag was
    dropped as a mark)."""
    paired: list[Group] = []
    for group in groups:
        last = paired[-1] if paired else None
        if (
            last is not None
            and is_fragment(last, height)
            and is_fragment(group, height)
            and _gap(last, group) <= 0
            and not is_fragment(joined := last.joined(group), height)
        ):
            paired[-1] = joined
        else:
            paired.append(group)
    return paired


def _neighbours(fragment: Group, digits: list[Group], height: float) -> list[Group]:
    """The nearest digit on each side of a fragment, where it is within reach."""
    centre = (fragment.left + fragment.right) / 2
    left = [d for d in digits if (d.left + d.right) / 2 <= centre]
    right = [d for d in digits if (d.left + d.right) / 2 > centre]
    nearest = (max(left, key=lambda d: d.right, default=None),
               min(right, key=lambda d: d.left, default=None))  # fmt: skip
    return [d for d in nearest if d is not None and _gap(fragment, d) <= REACH * height]


def _gap(a: Group, b: Group) -> int:
    """Blank columns between two groups (negative when they share columns)."""
    return max(a.left, b.left) - min(a.right, b.right)


def join_halves(groups: list[Group], page: Page, height: float, judge: Judge) -> list[Group]:
    """`groups` with neighbours whose columns meet (a digit broken top to bottom, an 8 in
    two halves) joined when the `judge` is surer of them as one digit than as two, by
    `WHOLE_MARGIN` (two digits that touch read confidently each)."""
    widest = WIDEST * height
    pairs = [
        index
        for index, (a, b) in enumerate(itertools.pairwise(groups))
        if _gap(a, b) <= 0 and max(a.right, b.right) - min(a.left, b.left) <= widest
    ]
    if not pairs:
        return groups
    images = [
        page.image(Piece.whole(group))
        for index in pairs
        for group in (groups[index], groups[index + 1], groups[index].joined(groups[index + 1]))
    ]
    sure = sureness(judge, images).reshape(-1, 3)  # first, second, together
    result: list[Group | None] = list(groups)
    for (first, second, together), index in zip(sure, pairs, strict=True):
        if result[index] is not None and together - WHOLE_MARGIN >= first + second:
            result[index], result[index + 1] = groups[index].joined(groups[index + 1]), None
    return [group for group in result if group is not None]
