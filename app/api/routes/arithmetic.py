"""Numbers: /read, and /add, /multiply and /compare on whole handwritten numbers.

Each image is cut into its digits and read by a digit reader; the arithmetic on
the readings is exact, however long the numbers. For two single digits, the
route's head (a network trained on that operation's results alone) may answer
instead: by default whichever of the two scored better on the same test pairs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Annotated

import numpy as np
from fastapi import APIRouter, File, HTTPException, UploadFile, status

from app.api.deps import ServerDep, SettingsDep, model_query
from app.api.errors import NAMED_MODEL
from app.api.numbers import (
    DEFAULT_READER,
    choose,
    judge,
    number_reading,
    read_digits,
    reader_for,
)
from app.api.schemas import ArithmeticResult, Comparison, Read, head_ref, model_ref
from app.api.uploads import load_number, load_numbers
from app.serving.server import Served
from models.numbers import arithmetic
from models.numbers.cut import Digit
from models.ops import decode

router = APIRouter(tags=["numbers"], responses=NAMED_MODEL)

ImageA = Annotated[UploadFile, File(description="An image of the first number (or digit).")]
ImageB = Annotated[UploadFile, File(description="An image of the second number (or digit).")]
_CHOICE = (
    "Registered name of the model to answer with: a digit reader (kind reader), or for two "
    "single digits the route's head. By default, the more accurate of the '{route}' head "
    "and the 'reader' for two single digits, the 'reader' otherwise."
)


def _model(route: str):
    return model_query(DEFAULT_READER, route, _CHOICE.format(route=route))


@router.post("/read", response_model=Read, summary="The number in an image, digit by digit")
async def read(
    server: ServerDep,
    settings: SettingsDep,
    image: Annotated[UploadFile, File(description="An image of a handwritten number.")],
    model: Annotated[str, model_query(DEFAULT_READER, "read")] = DEFAULT_READER,
) -> Read:
    reader = server.for_route("read", model)
    digits = await load_number(image, settings, "image", judge(reader))
    (probabilities,) = await read_digits(reader, digits)
    return Read(**number_reading(digits, probabilities), model=model_ref(reader))


async def _operands(route: str, model: str | None, server, settings, a, b):
    """Who answers, both numbers' digits, and the reader's readings of them (still to be
    awaited, so that a head's call can run beside the reader's; None: no reader)."""
    named = server.for_route(route, model) if model is not None else None
    reader = reader_for(server, route, named)
    # a head reads single digits: each separate piece of ink is one, however wide
    keep_whole = named is not None and named is not reader
    number_a, number_b = await load_numbers({"a": a, "b": b}, settings, judge(reader), keep_whole)
    single = len(number_a) == len(number_b) == 1
    answerer = choose(server, route, named, reader, single)
    if answerer is not reader and not single:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"model {answerer.name!r} (kind {answerer.kind.name}) reads single digits, and "
            f"'a' has {len(number_a)} and 'b' {len(number_b)}: use a digit reader "
            f"(model={DEFAULT_READER}) for numbers",
        )
    readings = read_digits(reader, number_a, number_b) if reader else _nothing()
    return answerer, number_a, number_b, readings


async def _nothing() -> None:
    return None


async def _answers(answerer: Served, route: str, a, b, readings: Awaitable):
    """The head's reading of the two digits (None when the reader answers) and the
    reader's readings, from model calls that run at the same time."""
    if answerer.kind.name != route:
        return None, await readings
    return await asyncio.gather(_head(answerer, a, b), readings)


def _numbers(number_a: list[Digit], number_b: list[Digit], readings) -> dict:
    if readings is None:
        return {}
    return {"a": number_reading(number_a, readings[0]), "b": number_reading(number_b, readings[1])}


async def _head(answerer: Served, a: list[Digit], b: list[Digit]):
    pair = np.stack([a[0].image, b[0].image])[None]
    return decode(answerer.kind.name, await answerer.infer_async("predict", pair))


async def _arithmetic(route: str, model: str | None, server, settings, a, b) -> ArithmeticResult:
    answerer, number_a, number_b, pending = await _operands(route, model, server, settings, a, b)
    reading, readings = await _answers(answerer, route, number_a, number_b, pending)
    if reading is not None:
        value, confidence = int(reading.results[0]), float(reading.confidence[0])
    else:
        operation = arithmetic.add if route == "add" else arithmetic.multiply
        answer = operation(*readings, checked=True)
        value, confidence = answer.value, answer.probability
    return ArithmeticResult(
        result=value,
        result_text=str(value),
        confidence=confidence,
        parts={"units": value % 10, "tens": value // 10} if value < 100 else None,
        **_numbers(number_a, number_b, readings),
        model=head_ref(answerer),
    )


@router.post("/add", response_model=ArithmeticResult, summary="The sum of two numbers")
async def add(
    server: ServerDep,
    settings: SettingsDep,
    a: ImageA,
    b: ImageB,
    model: Annotated[str | None, _model("add")] = None,
) -> ArithmeticResult:
    return await _arithmetic("add", model, server, settings, a, b)


@router.post("/multiply", response_model=ArithmeticResult, summary="The product of two numbers")
async def multiply(
    server: ServerDep,
    settings: SettingsDep,
    a: ImageA,
    b: ImageB,
    model: Annotated[str | None, _model("multiply")] = None,
) -> ArithmeticResult:
    return await _arithmetic("multiply", model, server, settings, a, b)


@router.post("/compare", response_model=Comparison, summary="Whether number a is greater than b")
async def compare(
    server: ServerDep,
    settings: SettingsDep,
    a: ImageA,
    b: ImageB,
    model: Annotated[str | None, _model("compare")] = None,
) -> Comparison:
    answerer, number_a, number_b, pending = await _operands(
        "compare", model, server, settings, a, b
    )
    reading, readings = await _answers(answerer, "compare", number_a, number_b, pending)
    equal = None
    if reading is not None:
        greater, probability = bool(reading.results[0]), float(reading.confidence[0])
    else:
        comparison = arithmetic.compare(*readings, checked=True)
        greater, probability, equal = comparison.result, comparison.greater, comparison.equal
    return Comparison(
        result=greater,
        probability=probability,
        equal_probability=equal,
        **_numbers(number_a, number_b, readings),
        model=head_ref(answerer),
    )
