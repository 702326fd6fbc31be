"""Reading single digits: /classify, /encode and /decode."""

from __future__ import annotations

import math
from typing import Annotated

import numpy as np
from fastapi import APIRouter, File, HTTPException, Response, UploadFile, status

from app.api.deps import AcceptHeader, ScaleQuery, ServerDep, SettingsDep, model_query
from app.api.errors import NAMED_MODEL
from app.api.pictures import check_scale, png_response, wants_json
from app.api.schemas import Classification, DecodeRequest, Decoding, Encoding, model_ref
from app.api.uploads import load_image, load_images

router = APIRouter(tags=["digits"], responses=NAMED_MODEL)

_RANGE_SLACK = 0.5  # latents this far (relative to the range) outside it are still accepted


@router.post(
    "/classify",
    response_model=Classification | list[Classification],
    summary="Which digit is in the image",
)
async def classify(
    server: ServerDep,
    settings: SettingsDep,
    model: Annotated[str, model_query("classifier", "classify")] = "classifier",
    image: Annotated[UploadFile | None, File(description="One image of a digit.")] = None,
    images: Annotated[
        list[UploadFile] | None, File(description="Several images (repeat the field) for a batch.")
    ] = None,
) -> Classification | list[Classification]:
    """Send one image in `image` to get one answer, or several in `images` to get a list in
    the same order."""
    if (image is None) == (images is None):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "send one image in the multipart field 'image', or several in 'images' (not both)",
        )
    uploads = [image] if image is not None else images
    if len(uploads) > settings.max_batch_images:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"{len(uploads)} images in one request; the limit is {settings.max_batch_images}",
        )
    if image is not None:
        batch = (await load_image(image, settings, "image"))[None]
    else:
        batch = await load_images(images, settings, "images")
    served = server.for_route("classify", model)
    probabilities = (await served.infer_async("classify", batch))["probabilities"]
    reference = model_ref(served)
    answers = [
        Classification(digit=int(row.argmax()), probabilities=row.tolist(), model=reference)
        for row in probabilities
    ]
    return answers[0] if image is not None else answers


@router.post(
    "/encode",
    response_model=Encoding,
    response_model_exclude_none=True,
    summary="The latent vector of a digit",
)
async def encode(
    server: ServerDep,
    settings: SettingsDep,
    image: Annotated[UploadFile, File(description="An image of a digit.")],
    model: Annotated[str, model_query("autoencoder", "encode")] = "autoencoder",
) -> Encoding:
    """The latent of an autoencoder; for a VAE, the mean of the latent's Gaussian as
    `latent` and its `log_variance`."""
    batch = (await load_image(image, settings, "image"))[None]
    served = server.for_route("encode", model)
    outputs = await served.infer_async("encode", batch)
    log_variance = outputs.get("log_variance")
    return Encoding(
        latent=outputs["latent"][0].tolist(),
        log_variance=None if log_variance is None else log_variance[0].tolist(),
        model=model_ref(served),
    )


@router.post(
    "/decode",
    response_model=Decoding,
    summary="The image a latent vector stands for",
    responses={
        200: {
            "content": {"image/png": {}},
            "description": "A PNG (default) or, with `Accept: application/json`, the pixels.",
        },
        422: {"description": "A latent of the wrong length, not finite, or far out of range."},
    },
)
async def decode(
    body: DecodeRequest,
    server: ServerDep,
    settings: SettingsDep,
    scale: ScaleQuery = 1,
    model: Annotated[str, model_query("autoencoder", "decode")] = "autoencoder",
    accept: AcceptHeader = None,
) -> Response | Decoding:
    check_scale(scale, settings)
    served = server.for_route("decode", model)
    latent = checked_latent(body.latent, served.metadata["latent"])
    pixels = (await served.infer_async("decode", latent[None]))["pixels"][0]
    if wants_json(accept):
        return Decoding(pixels=pixels.tolist(), model=model_ref(served))
    return png_response(pixels, scale, served)


def checked_latent(values: list[float], spec: dict) -> np.ndarray:
    length, low, high = spec["length"], spec["min"], spec["max"]
    slack = _RANGE_SLACK * (high - low)
    expected = (
        f"expected {length} finite numbers in the encoder's range [{low:g}, {high:g}] "
        f"(values up to {slack:g} beyond it are accepted)"
    )
    if len(values) != length:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"latent has {len(values)} values; {expected}"
        )
    bad = [i for i, v in enumerate(values) if not math.isfinite(v)]
    if bad:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"latent holds NaN or infinity at index {bad[0]}; {expected}",
        )
    far = [i for i, v in enumerate(values) if not low - slack <= v <= high + slack]
    if far:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"latent value {values[far[0]]:g} at index {far[0]} is far outside the range; "
            f"{expected}",
        )
    return np.asarray(values, dtype=np.float32)
