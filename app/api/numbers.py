"""Reading whole numbers and choosing who answers arithmetic on them.

A number is cut into digits (`models.numbers.cut`) and every digit of both operands
goes through a digit reader in one model call. The arithmetic on the readings is
exact (`models.numbers.arithmetic`). For two single digits, the arithmetic head of
the route (trained on that operation's results alone) may answer instead: by
default whichever of the head and the reader scored better on the same test pairs.
"""

from __future__ import annotations

import math

import numpy as np

from app.serving.server import ModelServer, ModelUnavailable, Served, UnknownModel
from models.numbers import arithmetic
from models.numbers.cut import Digit
from models.numbers.split import Judge

DEFAULT_READER = "reader"
"""The shipped digit reader: learnt from sums, never from a digit label."""


async def read_digits(reader: Served, *numbers: list[Digit]) -> list[np.ndarray]:
    """Each number's `(digits, 10)` probabilities (float64, rows summing to 1), from one
    call for all of them."""
    images = np.stack([digit.image for number in numbers for digit in number])
    outputs = (await reader.infer_async("classify", images))["probabilities"]
    probabilities = arithmetic.check_number(outputs, f"the output of {reader.name!r}")
    readings, start = [], 0
    for number in numbers:
        readings.append(probabilities[start : start + len(number)])
        start += len(number)
    return readings


def judge(reader: Served | None) -> Judge | None:
    """How sure `reader` is of each of a batch of digit inputs (None: no reader to ask)."""
    if reader is None:
        return None
    return lambda images: reader.infer("classify", images)["probabilities"].max(axis=1)


def number_reading(digits: list[Digit], probabilities: np.ndarray) -> dict:
    """The reading of one number (rows from `read_digits`), as the fields of a
    `NumberReading`: each digit's most probable value, and the probability that all of
    them are right (the digits are independent). Plain values, which the answer's model
    checks in one go."""
    best = probabilities.argmax(axis=1)
    values, confidences = best.tolist(), probabilities[np.arange(len(best)), best].tolist()
    return {
        "value": "".join(map(str, values)),
        "confidence": math.prod(confidences),  # each at least 0.1: above 0 to 300 digits
        "digits": [
            {"value": value, "confidence": confidence, "box": _box(digit.box)}
            for value, confidence, digit in zip(values, confidences, digits, strict=True)
        ],
    }


def _box(box: tuple[int, int, int, int]) -> dict[str, int]:
    x, y, width, height = box
    return {"x": x, "y": y, "width": width, "height": height}


def reader_for(server: ModelServer, route: str, named: Served | None) -> Served | None:
    """The `named` model when it is a reader, else the shipped one (None when that has
    nothing to serve)."""
    if named is not None and named.kind.name == "reader":
        return named
    try:
        return server.for_route(route, DEFAULT_READER)
    except (ModelUnavailable, UnknownModel):
        return None


def choose(
    server: ModelServer, route: str, named: Served | None, reader: Served | None, single: bool
) -> Served:
    """Who answers `route`: the `named` model; else, for two single digits, the more
    accurate of the route's head and the `reader`; else the `reader`."""
    if named is not None:
        return named
    if not single:
        if reader is None:
            server.get(DEFAULT_READER)  # raises ModelUnavailable, saying how to train it
        return reader
    try:
        head = server.for_route(route, route)
    except (ModelUnavailable, UnknownModel):
        if reader is None:
            raise
        return reader
    if reader is None:
        return head
    head_score = head.metadata.get("metrics", {}).get("test_accuracy", 0.0)
    reader_score = reader.metadata.get("metrics", {}).get(f"{route}_accuracy", 0.0)
    return head if head_score > reader_score else reader
