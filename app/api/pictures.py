"""Digits as PNG answers: one decoded image, or a grid of several."""

from __future__ import annotations

import io
import math

import numpy as np
from fastapi import HTTPException, Response, status
from PIL import Image

GRID_GAP = 2  # pixels of background between the digits of a grid, before scaling


def to_png(pixels: np.ndarray, scale: int = 1) -> bytes:
    """(H, W) ink levels in [0, 1] as a PNG (ink white on black), `scale` times larger."""
    picture = Image.fromarray(np.round(np.clip(pixels, 0, 1) * 255).astype(np.uint8))
    if scale > 1:
        height, width = pixels.shape
        picture = picture.resize((width * scale, height * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def grid(images: np.ndarray, columns: int | None = None) -> np.ndarray:
    """(N, 28, 28) digits laid out left to right, top to bottom, `columns` a row
    (default: as square a grid as N allows)."""
    count, height, width = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    sheet = np.zeros(
        (rows * (height + GRID_GAP) - GRID_GAP, columns * (width + GRID_GAP) - GRID_GAP),
        np.float32,
    )
    for index, image in enumerate(images):
        top = (index // columns) * (height + GRID_GAP)
        left = (index % columns) * (width + GRID_GAP)
        sheet[top : top + height, left : left + width] = image
    return sheet


def wants_json(accept: str | None) -> bool:
    """Whether the client asked for JSON rather than the default PNG."""
    return bool(accept and "application/json" in accept and "image/png" not in accept)


def check_scale(scale: int, settings) -> None:
    """Refuse a `scale` over HANDCALC_MAX_DECODE_SCALE (the PNG would be huge)."""
    if scale > settings.max_decode_scale:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"scale {scale} is over the limit of {settings.max_decode_scale}",
        )


def png_response(pixels: np.ndarray, scale: int, served=None) -> Response:
    """A PNG answer, naming the model version that drew it (if one did) in its headers."""
    headers = {}
    if served is not None:
        headers = {
            "X-Model-Name": served.name,
            "X-Model-Version": str(served.version),
            "X-Model-Kind": served.kind.name,
        }
    return Response(to_png(pixels, scale), media_type="image/png", headers=headers)
