"""Images in and out: what the client accepts as an upload, and what it makes of PNG answers."""

from __future__ import annotations

import io
import mimetypes
import os
from pathlib import Path
from typing import TypeAlias

import numpy as np
from PIL import Image

ImageInput: TypeAlias = str | os.PathLike | bytes | Image.Image | np.ndarray
"""A file path, an image file's bytes, a PIL image, or an array of pixels: uint8, or floats
in [0, 1] (as /decode returns them); grey (H, W), RGB or RGBA."""

Upload: TypeAlias = tuple[str, bytes, str]


def upload(image: ImageInput, name: str = "image.png") -> Upload:
    """(filename, content, content type) for one multipart file; arrays and PIL images are
    sent as PNG. A path keeps its file name, which the API's error messages repeat."""
    if isinstance(image, str | os.PathLike):
        path = Path(image)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return path.name, path.read_bytes(), kind
    if isinstance(image, bytes | bytearray | memoryview):
        return name, bytes(image), "application/octet-stream"
    if isinstance(image, np.ndarray):
        return name, png(_uint8(image)), "image/png"
    if isinstance(image, Image.Image):
        if image.mode in ("F", "I", "I;16"):
            return name, png(_uint8(np.asarray(image))), "image/png"
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return name, buffer.getvalue(), "image/png"
    raise TypeError(f"not an image: {type(image).__name__}; send a path, bytes, PIL or numpy")


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _uint8(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype.kind == "f" and pixels.size and float(np.nanmax(pixels)) <= 1.0:
        pixels = pixels * 255.0
    return np.clip(np.nan_to_num(pixels), 0, 255).round().astype(np.uint8)


def open_png(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image
