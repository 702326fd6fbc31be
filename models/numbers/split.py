"""Cutting a piece of ink that holds several touching digits into one piece per digit.

A piece wider than any digit can be is cut by dynamic programming over its columns:
each cut costs a fixed price plus the ink it crosses, each piece a penalty for
straying from the typical digit width. With a digit reader at hand (`Judge`), the
cutting stands only if the reader is surer of the pieces, together, than of the
whole read as one digit: that keeps a wide 2 or 4 whole. A piece of the cutting that
the reader is unsure of is then tried in two, for the width cutting expects digits of
a typical width and two narrow ones fit in one piece.

Tried and dropped: choosing the cuts themselves by the reader's confidence (every
candidate piece between thin columns read, the surest cutting kept). On numbers of
2 to 8 test digits with touching neighbours it cut 72.5% right, as this does, but
kept only half of the digits drawn 1.4 times wider whole, against all 40 here: the
reader reads a 1 merged into its neighbour as that neighbour, with full confidence.

No TensorFlow here: the reader comes in as a plain function.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from models.preprocess import SIDE, ImageError, normalise

Judge = Callable[[np.ndarray], np.ndarray]
"""`(k, 28, 28)` digit inputs -> `(k,)` probabilities of each one's most likely reading."""

DIGIT_WIDTH = 0.65
"""The width a digit is expected to take, as a share of its height (MNIST's median digit is
0.75 as wide as it is tall; touching digits overlap a little)."""
NARROWEST, WIDEST = 0.15, 1.15
"""The narrowest and widest a digit can be, as shares of its height. In the test subset
(tests/data), 1% of the digits are under 0.2 of their height wide, and 5% over 1.11:
without a reader, a piece wider than WIDEST is cut, which splits those few wide digits
too."""
WHOLE_MARGIN = 0.05
"""How much surer (in log probability) the judge must be of the whole than of the pieces,
in a number of several pieces of ink. The reader is sure of a 1 merged into its neighbour
read as that neighbour, and sure of the halves of a wide digit too: on numbers of 2 to 8
touching test digits, a margin of 0.05 cut 65% right against 52.5% with none, but kept
30 of 40 digits drawn 1.4 times wider whole, against all 40 (measured with the starter
reader). A lone piece of ink, a single-digit upload, takes no margin."""
WHOLE_WIDEST = 1.5
"""No piece wider than this share of the digit height is one digit, however sure the judge
is of it squeezed into 28x28. Of MNIST's 70,000 digits, 309 (0.44%) are 1.5 times as wide
as they are tall or wider, 228 5/3 times (ink over 40 of 255, counted on the full set);
the digit height, taken from pieces of ink, is a little high where touching digits sit at
different heights. Without this bound the judge kept runs of up to eight overlapping
digits as one (`bench.cutting`). At 1.6, a reader trained in groups of 8 (99.64% per
digit) cut a run of five overlapping digits into two pieces only
(tests/models/numbers/test_cut.py);
at 1.5 the starter cut 40.0% of `bench.cutting`'s overlapping numbers right against
39.5%, and 91.5% of the rough ones against 90.5% (the touching ones: 71.0% both ways)."""
ALONE_WIDEST = 2.5
"""The bound for a lone piece of ink, which is most likely one digit (a single upload): no
MNIST digit is wider than 2.5 times its height, measured the same way."""
UNSURE = float(np.log(0.7))
"""A piece of a wide group that the judge reads with less confidence than this may be two
narrow digits: it is tried cut in two."""
HALVES_MARGIN = 0.5
"""How much surer (in log probability) the judge must be of the two halves of such a piece
than of the piece. On `bench.cutting`'s 200 numbers of each style, 0.05 in its place cut
3 fewer of the rough ones right (178 against 181), a wide digit's halves being read surely,
and 5 more overlapping ones right (84 against 79); touching ones came out the same (142).
Rough numbers are the likelier handwriting."""
CUT_PRICE = 0.2
"""What a cut costs before the ink it crosses (a column of full ink costs 1 more)."""
WIDTH_PRICE = 1.0
"""What a piece costs per squared relative difference from the typical width."""


@dataclass
class Group:
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

    def absorb(self, other: Group) -> None:
        self.labels += other.labels
        self.top, self.bottom = min(self.top, other.top), max(self.bottom, other.bottom)
        self.left, self.right = min(self.left, other.left), max(self.right, other.right)
        self.area += other.area

    def joined(self, other: Group) -> Group:
        """A new group of this one's strokes and `other`'s (neither is changed)."""
        group = Group(list(self.labels), self.top, self.bottom, self.left, self.right, self.area)
        group.absorb(other)
        return group


@dataclass(frozen=True)
class Piece:
    """The columns `left` to `right` of a group: one digit."""

    group: Group
    left: int
    right: int

    @classmethod
    def whole(cls, group: Group) -> Piece:
        """All of `group` as one digit."""
        return cls(group, group.left, group.right)


@dataclass(frozen=True)
class Page:
    """The ink being cut, and which stroke each of its pixels belongs to."""

    ink: np.ndarray
    labels: np.ndarray

    def image(self, piece: Piece) -> np.ndarray:
        """The piece's ink prepared as a single upload is: a `(28, 28)` model input."""
        group = piece.group
        rows, cols = slice(group.top, group.bottom), slice(piece.left, piece.right)
        mine = self._members(group)[self.labels[rows, cols]]
        from scipy import ndimage  # loaded by cut_ink already

        # take in the faint anti-aliased edge around the strokes, not the neighbours' ink
        edge = ndimage.binary_dilation(mine, structure=np.ones((3, 3)))
        try:
            return normalise(np.pad(self.ink[rows, cols] * edge, 1))
        except ImageError:
            return np.zeros((SIDE, SIDE), np.float32)

    def _members(self, group: Group) -> np.ndarray:
        """Indexed by stroke label: whether that stroke is in `group` (a table lookup is
        several times faster than `np.isin` on every pixel)."""
        members = np.zeros(int(self.labels.max()) + 1, dtype=bool)
        members[group.labels] = True
        return members

    def profile(self, group: Group) -> np.ndarray:
        """The group's ink in each of its columns, 1 for a heavily inked column."""
        rows, cols = slice(group.top, group.bottom), slice(group.left, group.right)
        mine = self._members(group)[self.labels[rows, cols]]
        profile = (self.ink[rows, cols] * mine).sum(axis=0)
        return profile / max(float(np.percentile(profile, 90)), 1e-6)


def split(
    group: Group, page: Page, height: float, judge: Judge | None, *, alone: bool = False
) -> list[Piece]:
    """`group` as one piece per digit: cut by ink where it is wider than a digit can be,
    and, when a `judge` is given, only if the judge is surer of the pieces than of the
    whole as one digit (by `WHOLE_MARGIN`, unless the group is `alone` in its image)."""
    widest = max(2, int(WIDEST * height))
    whole = Piece.whole(group)
    if group.width <= widest:
        return [whole]
    profile = page.profile(group)
    cuts = _cheapest_ink_cuts(profile, height)
    if cuts is None:  # no cutting fits the width bounds: even pieces of the typical width
        count = max(1, round(group.width / (DIGIT_WIDTH * height)))
        cuts = [round(index * group.width / count) for index in range(count + 1)]
    pieces = _pieces(group, cuts)
    if judge is None or len(pieces) == 1:
        return pieces
    # the whole is read only when it may stay whole: never when wider than any digit
    may_be_whole = group.width <= (ALONE_WIDEST if alone else WHOLE_WIDEST) * height
    candidates = (whole, *pieces) if may_be_whole else tuple(pieces)
    sure = sureness(judge, [page.image(piece) for piece in candidates])
    if may_be_whole:
        whole_sure, sure = sure[0], sure[1:]
        if whole_sure - (0.0 if alone else WHOLE_MARGIN) >= sure.sum():
            return [whole]
    return _split_unsure(pieces, sure, page, profile, height, judge)


def _split_unsure(
    pieces: list[Piece],
    sure: np.ndarray,
    page: Page,
    profile: np.ndarray,
    height: float,
    judge: Judge,
) -> list[Piece]:
    """`pieces` of a group cut by width, each one the judge is unsure of cut in two more
    when it is surer of the halves (by `HALVES_MARGIN`): the width cutting expects digits
    of a typical width, and two narrow ones (a 1 beside a 7) fit in one piece. `profile` is
    the group's ink by column."""
    candidates = [
        (index, halves)
        for index, piece in enumerate(pieces)
        if sure[index] < UNSURE and (halves := _halves(piece, profile, height)) is not None
    ]
    if not candidates:
        return pieces
    halves_sure = sureness(judge, [page.image(half) for _, pair in candidates for half in pair])
    chosen = {}
    for number, (index, pair) in enumerate(candidates):
        if halves_sure[2 * number : 2 * number + 2].sum() > sure[index] + HALVES_MARGIN:
            chosen[index] = pair
    return [half for index, piece in enumerate(pieces) for half in chosen.get(index, (piece,))]


def _halves(piece: Piece, profile: np.ndarray, height: float) -> tuple[Piece, Piece] | None:
    """`piece` cut in two where its ink (`profile`, its group's by column) is thinnest, both
    halves at least a narrow digit wide; None when it is too narrow for that."""
    narrowest = max(1, int(NARROWEST * height))
    if piece.right - piece.left < 2 * narrowest:
        return None
    group = piece.group
    mine = profile[piece.left - group.left : piece.right - group.left]
    inner = mine[narrowest : len(mine) - narrowest + 1]
    cut = piece.left + narrowest + int(inner.argmin())
    return Piece(group, piece.left, cut), Piece(group, cut, piece.right)


def sureness(judge: Judge, images: list[np.ndarray]) -> np.ndarray:
    """The log of the judge's confidence in each digit input, from one call for all."""
    return np.log(np.clip(np.asarray(judge(np.stack(images)), np.float64), 1e-12, 1.0))


def _cheapest_ink_cuts(profile: np.ndarray, height: float) -> list[int] | None:
    """The cheapest cutting of the columns into pieces within the width bounds (a cut
    allowed at every column), or None when none fits."""
    width, columns = DIGIT_WIDTH * height, len(profile)
    narrowest, widest = max(1, int(NARROWEST * height)), max(2, int(WIDEST * height))
    cost = np.full(columns + 1, np.inf)
    cost[0] = 0.0
    previous = np.zeros(columns + 1, dtype=np.int64)
    for stop in range(narrowest, columns + 1):
        starts = np.arange(max(0, stop - widest), stop - narrowest + 1)
        crossed = profile[np.minimum(starts, columns - 1)]
        cut_price = np.where(starts > 0, CUT_PRICE + crossed, 0.0)
        total = cost[starts] + cut_price + WIDTH_PRICE * (((stop - starts) - width) / width) ** 2
        best = int(total.argmin())
        cost[stop], previous[stop] = total[best], starts[best]
    if not np.isfinite(cost[-1]):
        return None
    cuts = [columns]
    while cuts[-1] > 0:
        cuts.append(int(previous[cuts[-1]]))
    return cuts[::-1]


def _pieces(group: Group, cuts: list[int]) -> list[Piece]:
    return [
        Piece(group, group.left + start, group.left + stop)
        for start, stop in itertools.pairwise(cuts)
        if stop > start
    ]
