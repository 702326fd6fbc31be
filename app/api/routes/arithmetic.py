"""Arithmetic on two digits: /add, /multiply and /compare.

Each head reads both images with its own reader, a copy of an autoencoder's
encoder fine-tuned from the operation's results; its lineage names that
autoencoder version.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, File, UploadFile

from app.api.deps import ServerDep, SettingsDep, model_query
from app.api.errors import NAMED_MODEL
from app.api.schemas import ArithmeticResult, Comparison, HeadRef, Parts
from app.api.uploads import load_image
from app.serving import ModelServer, Served
from models.ops import Reading, decode

router = APIRouter(tags=["arithmetic"], responses=NAMED_MODEL)

ImageA = Annotated[UploadFile, File(description="The first digit.")]
ImageB = Annotated[UploadFile, File(description="The second digit.")]


async def _read_pair(
    route: str, name: str, server: ModelServer, settings, a: UploadFile, b: UploadFile
) -> tuple[Served, Reading]:
    pair = np.stack([await load_image(a, settings, "a"), await load_image(b, settings, "b")])
    head = server.for_route(route, name)
    outputs = await head.infer_async("predict", pair[None])
    return head, decode(head.kind.name, outputs)


def _ref(head: Served) -> HeadRef:
    return HeadRef(
        name=head.name,
        version=head.version,
        kind=head.kind.name,
        encoder_version=head.encoder_version,
    )


async def _arithmetic(route: str, name: str, server, settings, a, b) -> ArithmeticResult:
    head, reading = await _read_pair(route, name, server, settings, a, b)
    return ArithmeticResult(
        result=int(reading.results[0]),
        confidence=float(reading.confidence[0]),
        parts=Parts(units=int(reading.parts["units"][0]), tens=int(reading.parts["tens"][0])),
        model=_ref(head),
    )


@router.post("/add", response_model=ArithmeticResult, summary="The sum of two digits")
async def add(
    server: ServerDep,
    settings: SettingsDep,
    a: ImageA,
    b: ImageB,
    model: Annotated[str, model_query("add", "add")] = "add",
) -> ArithmeticResult:
    return await _arithmetic("add", model, server, settings, a, b)


@router.post("/multiply", response_model=ArithmeticResult, summary="The product of two digits")
async def multiply(
    server: ServerDep,
    settings: SettingsDep,
    a: ImageA,
    b: ImageB,
    model: Annotated[str, model_query("multiply", "multiply")] = "multiply",
) -> ArithmeticResult:
    return await _arithmetic("multiply", model, server, settings, a, b)


@router.post("/compare", response_model=Comparison, summary="Whether digit a is greater than b")
async def compare(
    server: ServerDep,
    settings: SettingsDep,
    a: ImageA,
    b: ImageB,
    model: Annotated[str, model_query("compare", "compare")] = "compare",
) -> Comparison:
    head, reading = await _read_pair("compare", model, server, settings, a, b)
    return Comparison(
        result=bool(reading.results[0]),
        probability=float(reading.confidence[0]),
        model=_ref(head),
    )
