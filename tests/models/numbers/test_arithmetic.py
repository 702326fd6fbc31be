"""Long arithmetic on read numbers against Python's integers and brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from models.numbers import arithmetic


def readings(number: str, doubt: float = 0.0, rng: np.random.Generator | None = None):
    """Digit distributions that favour the digits of `number`, each with `doubt` spread
    over the others (at random when `rng` is given)."""
    digits = [int(character) for character in number]
    spread = np.full((len(digits), 10), 1.0)
    if rng is not None:
        spread = rng.random((len(digits), 10))
    spread[np.arange(len(digits)), digits] = 0.0
    spread = spread / spread.sum(axis=1, keepdims=True) * doubt
    spread[np.arange(len(digits)), digits] = 1.0 - doubt
    return spread


def random_number(rng: np.random.Generator, length: int) -> str:
    return "".join(str(d) for d in rng.integers(0, 10, length))


@pytest.mark.parametrize("length", [1, 2, 4, 15, 100])
def test_sums_and_products_of_confident_readings_are_exact(length: int) -> None:
    rng = np.random.default_rng(length)
    for _ in range(20):
        a, b = random_number(rng, length), random_number(rng, int(rng.integers(1, length + 1)))
        read_a, read_b = readings(a, 0.01, rng), readings(b, 0.01, rng)
        total = arithmetic.add(read_a, read_b)
        assert total.value == int(a) + int(b)
        assert 0.0 < total.probability <= 1.0
        assert arithmetic.multiply(read_a, read_b).value == int(a) * int(b)
        comparison = arithmetic.compare(read_a, read_b)
        assert comparison.result == (int(a) > int(b))


def test_a_hundred_nines_plus_one_carries_all_the_way() -> None:
    a = "9" * 100
    answer = arithmetic.add(readings(a, 0.001), readings("1", 0.001))
    assert answer.value == 10**100
    assert answer.value == int(a) + 1  # a Python integer, not a float
    assert isinstance(answer.value, int)


def _all_readings(number: np.ndarray):
    """Every reading of a small number with its probability."""
    for digits in itertools.product(range(10), repeat=len(number)):
        probability = float(np.prod(number[np.arange(len(number)), digits]))
        yield arithmetic.to_int(digits), probability


def _brute_force(a: np.ndarray, b: np.ndarray, operator) -> dict[int, float]:
    results: dict[int, float] = {}
    for (x, p), (y, q) in itertools.product(_all_readings(a), _all_readings(b)):
        results[operator(x, y)] = results.get(operator(x, y), 0.0) + p * q
    return results


def test_the_sum_probability_is_exact_over_all_carry_paths() -> None:
    rng = np.random.default_rng(7)
    for _ in range(10):
        a = rng.dirichlet(np.full(10, 0.3), size=2)
        b = rng.dirichlet(np.full(10, 0.3), size=2)
        sums = _brute_force(a, b, lambda x, y: x + y)
        answer = arithmetic.add(a, b)
        assert answer.probability == pytest.approx(sums[answer.value], rel=1e-9)
        # the best carry path's sum is nearly always the most probable sum outright
        assert answer.probability >= 0.5 * max(sums.values())


def test_comparison_probabilities_match_brute_force() -> None:
    rng = np.random.default_rng(11)
    for _ in range(10):
        a = rng.dirichlet(np.full(10, 0.5), size=2)
        b = rng.dirichlet(np.full(10, 0.5), size=int(rng.integers(1, 3)))
        greater = _brute_force(a, b, lambda x, y: int(x > y))
        equal = _brute_force(a, b, lambda x, y: int(x == y))
        comparison = arithmetic.compare(a, b)
        assert comparison.greater == pytest.approx(greater.get(1, 0.0), rel=1e-9)
        assert comparison.equal == pytest.approx(equal.get(1, 0.0), rel=1e-9)


def test_single_digit_sums_are_the_most_probable_over_all_readings() -> None:
    rng = np.random.default_rng(5)
    for _ in range(20):
        a, b = rng.dirichlet(np.full(10, 0.3), size=1), rng.dirichlet(np.full(10, 0.3), size=1)
        sums = _brute_force(a, b, lambda x, y: x + y)
        answer = arithmetic.add(a, b)
        assert answer.probability == pytest.approx(max(sums.values()), rel=1e-9)
        assert sums[answer.value] == pytest.approx(answer.probability, rel=1e-9)
        # the same answer as the carry chain gives a number with a leading zero
        padded = arithmetic.add(np.vstack([np.eye(10)[0], a[0]]), b)
        assert (padded.value, padded.probability) == pytest.approx(
            (answer.value, answer.probability), rel=1e-9
        )


def test_single_digit_products_are_the_most_probable_over_all_readings() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        a, b = rng.dirichlet(np.full(10, 0.3), size=1), rng.dirichlet(np.full(10, 0.3), size=1)
        products = _brute_force(a, b, lambda x, y: x * y)
        answer = arithmetic.multiply(a, b)
        assert answer.probability == pytest.approx(max(products.values()), rel=1e-9)
        assert products[answer.value] == pytest.approx(answer.probability, rel=1e-9)


def test_a_long_product_has_the_probability_of_both_readings() -> None:
    a, b = readings("12345", 0.1), readings("678", 0.2)
    answer = arithmetic.multiply(a, b)
    assert answer.value == 12345 * 678
    assert answer.probability == pytest.approx(0.9**5 * 0.8**3)


def test_probabilities_of_long_doubtful_numbers_do_not_underflow() -> None:
    a, b = readings("7" * 100, 0.85), readings("3" * 100, 0.85)
    answer = arithmetic.add(a, b)
    assert 0.0 < answer.probability < 1e-50


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((0, 10)),
        np.ones((3, 9)),
        np.full((2, 10), -0.1),
        np.zeros((1, 10)),
        np.full((1, 10), np.nan),
        np.array([[np.inf] + [0.0] * 9]),
    ],
)
@pytest.mark.parametrize("operation", [arithmetic.add, arithmetic.multiply, arithmetic.compare])
def test_malformed_readings_are_refused(bad: np.ndarray, operation) -> None:
    with pytest.raises(ValueError):
        operation(bad, readings("1"))
    with pytest.raises(ValueError):
        operation(readings("23"), bad)


@pytest.mark.parametrize("operation", [arithmetic.add, arithmetic.multiply, arithmetic.compare])
def test_checked_readings_give_the_same_answers(operation) -> None:
    """The API checks a reader's rows once (`check_number`) and says so; the answers are
    those of the operation that checks them itself (dividing by totals of 1 again moves
    the probabilities by rounding only)."""
    rng = np.random.default_rng(7)
    for length_a, length_b in [(1, 1), (1, 3), (4, 4), (15, 9)]:
        a = arithmetic.check_number(readings(random_number(rng, length_a), 0.2, rng) * 3)
        b = arithmetic.check_number(readings(random_number(rng, length_b), 0.2, rng) * 3)
        fast, careful = dict(vars(operation(a, b, checked=True))), dict(vars(operation(a, b)))
        assert fast.pop("value", None) == careful.pop("value", None)  # exact integers
        assert fast == pytest.approx(careful, rel=1e-12)
