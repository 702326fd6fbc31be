"""Exact long arithmetic on numbers read digit by digit, each digit a distribution.

A number is an `(n, 10)` array: row i holds the probabilities of the i-th digit,
most significant first, as a reader gives them. Results are Python integers, so
a sum of two 100-digit numbers is exact; only probabilities are floats.

- `add`: the most probable sum, found by dynamic programming over the carries (a
  Viterbi pass over the carry chain picks the likeliest digits-and-carries path);
  its probability is then summed exactly over every carry path that gives it.
- `compare`: the exact probability that a > b (and that a == b), from the most
  significant digit down.
- `multiply`: the product of the most probable readings, with the probability that
  both readings are right; for two single digits, the most probable product and its
  exact probability over all hundred pairs of readings.

No TensorFlow here: the API imports this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_TINY = 1e-300
_PRODUCTS = np.multiply.outer(np.arange(10), np.arange(10)).ravel()
"""i * j for every pair of digits, row by row."""
_GREATER = np.tril(np.ones((10, 10)), k=-1)
"""1 where the row's digit is greater than the column's."""


@dataclass(frozen=True)
class Answer:
    value: int
    probability: float
    """For a comparison, the probability that a > b; otherwise that of `value`."""


def check_number(digits: np.ndarray, name: str = "number") -> np.ndarray:
    """`digits` as float64 `(n, 10)` rows that each sum to 1; `ValueError` otherwise."""
    array = np.asarray(digits, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 10 or len(array) == 0:
        raise ValueError(f"{name} must be (digits, 10) probabilities, got shape {array.shape}")
    totals = array.sum(axis=1)
    listed = totals.tolist()  # a number's few totals are quicker to test in Python
    # NaN fails every comparison (and is any minimum it meets); an infinity makes its total
    # infinite
    if not (array.min() >= 0 and max(listed) < math.inf):
        raise ValueError(f"{name} holds negative or non-finite probabilities")
    if not min(listed) > 0:
        raise ValueError(f"{name} has a digit with no probability at all")
    return array / totals[:, None]


def _checked(a: np.ndarray, b: np.ndarray, checked: bool) -> tuple[np.ndarray, np.ndarray]:
    if checked:  # the caller's rows passed `check_number` already: not again
        return a, b
    return check_number(a, "a"), check_number(b, "b")


def most_probable(digits: np.ndarray) -> Answer:
    """The most probable reading of one number and its probability (digits are independent)."""
    digits = check_number(digits)
    best = digits.argmax(axis=1)
    return Answer(to_int(best), float(np.exp(np.log(digits[np.arange(len(best)), best]).sum())))


def to_int(digits) -> int:
    """Digits, most significant first, as an exact Python integer."""
    return int("".join(str(int(d)) for d in digits)) if len(digits) else 0


def _aligned(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both numbers padded on the left with certain zeros to the same length."""
    length = max(len(a), len(b))
    return _pad(a, length), _pad(b, length)


def _pad(digits: np.ndarray, length: int) -> np.ndarray:
    zeros = np.zeros((length - len(digits), 10))
    zeros[:, 0] = 1.0
    return np.concatenate([zeros, digits])


def _column_sums(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each column, the distribution of a_i + b_i over 0..18, shape `(n, 19)`."""
    sums = np.zeros((len(a), 19))
    for value in range(10):
        sums[:, value : value + 10] += a[:, value : value + 1] * b
    return sums


def _transitions(column: np.ndarray) -> np.ndarray:
    """`T[carry_in, digit, carry_out]`: probability that a column with carry in writes
    `digit` and passes `carry_out` on."""
    table = np.zeros((2, 10, 2))
    for carry in (0, 1):
        for total in range(19):
            written = total + carry
            table[carry, written % 10, written // 10] += column[total]
    return table


def add(a: np.ndarray, b: np.ndarray, *, checked: bool = False) -> Answer:
    """The most probable sum of two read numbers and its exact probability (`checked`:
    both come from `check_number` already, as the API's readings do)."""
    a, b = _checked(a, b, checked)
    if len(a) == len(b) == 1:  # one column, no carry in: the sum's whole distribution
        sums = np.convolve(a[0], b[0])
        value = int(sums.argmax())
        return Answer(value, float(sums[value]))
    a, b = _aligned(a, b)
    tables = [_transitions(column) for column in _column_sums(a, b)[::-1]]  # units first
    with np.errstate(divide="ignore"):
        logs = [np.log(table) for table in tables]
    # Viterbi over the carry: best[c] is the log probability of the likeliest way to
    # write the columns so far and carry c out of them.
    best = np.array([0.0, -np.inf])
    back: list[np.ndarray] = []
    for log in logs:
        scores = best[:, None, None] + log  # carry in, digit, carry out
        flat = scores.reshape(20, 2)
        choice = flat.argmax(axis=0)
        back.append(choice)
        best = flat[choice, [0, 1]]
    carry = int(best.argmax())
    written: list[int] = [carry] if carry else []
    for choice in reversed(back):
        carry_in, digit = divmod(int(choice[carry]), 10)
        written.append(digit)
        carry = carry_in
    digits = written  # most significant first
    return Answer(to_int(digits), _probability_of_sum(tables, digits))


def _probability_of_sum(tables: list[np.ndarray], digits: list[int]) -> float:
    """P(a + b = the number `digits`), summed over every carry path, in scaled steps."""
    columns = len(tables)
    final_carry = 1 if len(digits) > columns else 0
    units_first = digits[::-1][:columns]
    alpha = np.array([1.0, 0.0])
    log_scale = 0.0
    for table, digit in zip(tables, units_first, strict=True):
        alpha = alpha @ table[:, digit, :]
        total = alpha.sum()
        if total <= 0:
            return 0.0
        log_scale += math.log(total)
        alpha /= total
    return math.exp(log_scale + math.log(max(alpha[final_carry], _TINY)))


@dataclass(frozen=True)
class Comparison:
    greater: float
    """P(a > b)."""
    equal: float
    """P(a == b)."""

    @property
    def result(self) -> bool:
        """Whether a > b is the more probable answer."""
        return self.greater > 0.5


def compare(a: np.ndarray, b: np.ndarray, *, checked: bool = False) -> Comparison:
    """The exact probabilities that a > b and a == b, from the most significant digit down
    (`checked` as for `add`)."""
    a, b = _aligned(*_checked(a, b, checked))
    joint = a[:, :, None] * b[:, None, :]  # (n, 10, 10): P(a_i = x, b_i = y)
    greater_here = (joint * _GREATER).sum(axis=(1, 2))  # P(a_i > b_i), column by column
    equal_here = np.trace(joint, axis1=1, axis2=2)
    equal_so_far = 1.0
    greater = 0.0
    for greater_now, equal_now in zip(greater_here.tolist(), equal_here.tolist(), strict=True):
        greater += equal_so_far * greater_now
        equal_so_far *= equal_now
    return Comparison(min(1.0, greater), equal_so_far)


def multiply(a: np.ndarray, b: np.ndarray, *, checked: bool = False) -> Answer:
    """The product of two read numbers: exact over all readings for two single digits,
    else the product of the most probable readings with the probability of both
    (`checked` as for `add`)."""
    a, b = _checked(a, b, checked)
    if len(a) == 1 and len(b) == 1:
        products = np.bincount(_PRODUCTS, np.outer(a[0], b[0]).ravel(), minlength=82)
        value = int(products.argmax())
        return Answer(value, float(products[value]))
    first, second = most_probable(a), most_probable(b)
    return Answer(first.value * second.value, first.probability * second.probability)
