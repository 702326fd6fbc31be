"""/preprocess: the 28x28 image the models receive for an upload, as a PNG or pixels."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile

from app.api.deps import AcceptHeader, ScaleQuery, SettingsDep
from app.api.errors import ErrorBody
from app.api.pictures import check_scale, png_response, wants_json
from app.api.schemas import Preprocessed
from app.api.uploads import load_image

router = APIRouter(tags=["digits"])


@router.post(
    "/preprocess",
    response_model=Preprocessed,
    summary="The 28x28 image a model receives for an upload",
    responses={
        200: {
            "content": {"image/png": {}},
            "description": "A PNG, ink white on black (default) or, with "
            "`Accept: application/json`, the pixels.",
        },
        422: {
            "model": ErrorBody,
            "description": "Not an image, an empty or blank one, or a scale over the limit.",
        },
    },
)
async def preprocess(
    settings: SettingsDep,
    image: Annotated[UploadFile, File(description="An image of a digit.")],
    scale: ScaleQuery = 1,
    accept: AcceptHeader = None,
) -> Response | Preprocessed:
    """What /classify, /encode and every other single-digit route make of the upload: grey,
    ink 1.0 on paper 0.0 whichever way round it came, cropped, scaled and centred by mass."""
    check_scale(scale, settings)
    pixels = await load_image(image, settings, "image")
    if wants_json(accept):
        return Preprocessed(pixels=pixels.tolist())
    return png_response(pixels, scale)
