"""The arithmetic operations the heads learn, their targets and how outputs are read.

A head sees two latents and is trained only on the operation's result: the sum,
the product or whether a > b. Sums and products are learnt as two digit-valued
parts (units and tens); reading them back picks the most probable result that
the operation can actually produce.

No TensorFlow here: the API reads head outputs with `decode`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Operation:
    name: str
    outputs: dict[str, int]
    """Output name -> number of classes (1 means a single sigmoid probability)."""
    possible: tuple[int, ...] = field(default=())
    """Every result the operation can give on two digits (empty for compare)."""

    def apply(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The operation's results on digit arrays: what the head is trained on."""
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        if self.name == "add":
            return a + b
        if self.name == "multiply":
            return a * b
        return (a > b).astype(np.int64)

    def targets(self, results: np.ndarray) -> dict[str, np.ndarray]:
        """Split results into the head's training targets."""
        results = np.asarray(results, dtype=np.int64)
        if self.name == "compare":
            return {"greater": results.astype(np.float32).reshape(-1, 1)}
        return {"units": results % 10, "tens": results // 10}


def _possible(operator) -> tuple[int, ...]:
    return tuple(sorted({operator(a, b) for a in range(10) for b in range(10)}))


OPERATIONS: dict[str, Operation] = {
    "add": Operation("add", {"units": 10, "tens": 2}, _possible(lambda a, b: a + b)),
    "multiply": Operation("multiply", {"units": 10, "tens": 9}, _possible(lambda a, b: a * b)),
    "compare": Operation("compare", {"greater": 1}),
}


def operation(name: str) -> Operation:
    if name not in OPERATIONS:
        raise ValueError(f"unknown operation {name!r}; expected one of {', '.join(OPERATIONS)}")
    return OPERATIONS[name]


@dataclass(frozen=True)
class Reading:
    """What a head's outputs say, for a batch."""

    results: np.ndarray
    """int results (0/1 for compare)."""
    confidence: np.ndarray
    """Probability of the chosen result (for compare: of a > b)."""
    parts: dict[str, np.ndarray]
    """The most probable value of each output part (units, tens)."""


def decode(name: str, outputs: dict[str, np.ndarray]) -> Reading:
    """Read a batch of head outputs as results with their confidence."""
    op = operation(name)
    if name == "compare":
        probability = np.asarray(outputs["greater"], dtype=np.float64).reshape(-1)
        return Reading((probability > 0.5).astype(np.int64), probability, {})
    units = np.asarray(outputs["units"], dtype=np.float64)
    tens = np.asarray(outputs["tens"], dtype=np.float64)
    possible = np.asarray(op.possible)
    joint = tens[:, possible // 10] * units[:, possible % 10]
    best = joint.argmax(axis=1)
    total = np.maximum(joint.sum(axis=1), 1e-12)
    confidence = joint[np.arange(len(best)), best] / total
    parts = {"units": units.argmax(axis=1), "tens": tens.argmax(axis=1)}
    return Reading(possible[best], confidence, parts)


def draw_pairs(count: int, population: int, seed: int) -> np.ndarray:
    """`count` random index pairs into a set of `population` images, shape `(count, 2)`."""
    if population < 2:
        raise ValueError("need at least two images to draw pairs from")
    rng = np.random.default_rng(seed)
    return rng.integers(0, population, size=(count, 2))
