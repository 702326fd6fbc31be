"""Pieces of a digit that came apart from it: a 5's flag, the far stroke of a 4, the
faint broken-off dots some MNIST 1s carry beside them.

Such a fragment is shorter than a digit and narrow, or very flat, and does not share
enough columns with its digit to be joined to it by column overlap alone. Left as it
is, it becomes a digit of its own (a number one digit too long); dropped as a mark,
its digit is read without it (a 5 without its flag). When a digit reader is at hand
(`Judge`), each fragment close to a digit is given to the neighbour on its left or on
its right, or to neither, whichever the reader is surest of.

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

from models.numbers.split import WHOLE_MARGIN, WIDEST, Group, Judge, Page, Piece

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
    fragments = [g for g in groups if is_fragment(g, height)]
    digits = [g for g in groups if not is_fragment(g, height)]
    if not digits or not fragments:
        return groups
    choices = [_candidates(fragment, digits, height) for fragment in fragments]
    pairs = [pair for options in choices for pair in options]
    images = [page.image(_whole(group)) for pair in pairs for group in pair]
    if not images:
        return groups
    sureness = np.log(np.clip(np.asarray(judge(np.stack(images)), np.float64), 1e-12, 1.0))
    slight = SLIGHT * float(np.median([d.area for d in digits]))
    joined: dict[int, Group] = {}
    kept, position = [], 0
    for fragment, options in zip(fragments, choices, strict=True):
        best, best_gain = None, 0.0
        for neighbour, _merged in options:
            gain = sureness[position + 1] - sureness[position]  # joined, against alone
            position += 2
            if gain > best_gain:
                best, best_gain = neighbour, gain
        if best is not None:
            joined.setdefault(id(best), _copy(best)).absorb(fragment)
        elif not options or fragment.area >= slight:
            kept.append(fragment)
    kept += [joined.get(id(digit), digit) for digit in digits]
    return sorted(kept, key=lambda g: g.left)


def _candidates(group: Group, digits: list[Group], height: float) -> list[tuple[Group, Group]]:
    """(neighbour, neighbour joined with `group`) for the nearest digit on each side of a
    fragment within reach; none for a digit."""
    if not is_fragment(group, height):
        return []
    reach = REACH * height
    centre = (group.left + group.right) / 2
    left = [d for d in digits if (d.left + d.right) / 2 <= centre]
    right = [d for d in digits if (d.left + d.right) / 2 > centre]
    nearest = [max(left, key=lambda d: d.right, default=None)]
    nearest.append(min(right, key=lambda d: d.left, default=None))
    options = []
    for neighbour in nearest:
        if neighbour is not None and _gap(group, neighbour) <= reach:
            options.append((neighbour, _joined(neighbour, group)))
    return options


def _gap(a: Group, b: Group) -> int:
    """Blank columns between two groups (negative when they share columns)."""
    return max(a.left, b.left) - min(a.right, b.right)


def _copy(group: Group) -> Group:
    return Group(list(group.labels), group.top, group.bottom, group.left, group.right, group.area)


def _whole(group: Group) -> Piece:
    return Piece(group, group.left, group.right)


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
    images = []
    for index in pairs:
        a, b = groups[index], groups[index + 1]
        images += [page.image(_whole(a)), page.image(_whole(b)), page.image(_whole(_joined(a, b)))]
    sureness = np.log(np.clip(np.asarray(judge(np.stack(images)), np.float64), 1e-12, 1.0))
    result, taken = list(groups), set()
    for position, index in enumerate(pairs):
        first, second, together = sureness[3 * position : 3 * position + 3]
        alone = first + second
        if index not in taken and together - WHOLE_MARGIN >= alone:
            result[index], result[index + 1] = _joined(groups[index], groups[index + 1]), None
            taken |= {index, index + 1}
    return [group for group in result if group is not None]


def _joined(a: Group, b: Group) -> Group:
    joined = _copy(a)
    joined.absorb(b)
    return joined
