"""A route for the load benchmark only (HANDCALC_BENCH_ROUTES=true): the HTTP floor.

It does everything /classify does before the model (multipart parsing, reading,
decoding and preprocessing the upload) and nothing after, so the benchmark can
tell what the model and the batching cost on top of HTTP.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile

from app.api.deps import SettingsDep
from app.api.uploads import load_image

router = APIRouter(prefix="/bench", tags=["benchmark"])


@router.post("/floor", summary="Upload and preprocess, no model (benchmarks only)")
async def floor(settings: SettingsDep, image: Annotated[UploadFile, File()]) -> dict[str, float]:
    return {"ink": float((await load_image(image, settings, "image")).sum())}
