"""Reading uploaded images into model inputs, with every failure a clear 4xx."""

from __future__ import annotations

import numpy as np
from fastapi import HTTPException, UploadFile, status

from app.settings import ApiSettings
from models.preprocess import ImageError, ImageTooLarge, preprocess


def read_image(upload: UploadFile, settings: ApiSettings, field: str) -> np.ndarray:
    """The upload as a `(28, 28)` float image; 413 or 422 saying what was wrong."""
    label = f"'{field}'" + (f" ({upload.filename})" if upload.filename else "")
    upload.file.seek(0)
    data = upload.file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"{label}: the file is over the upload limit of {settings.max_upload_bytes:,} bytes",
        )
    try:
        return preprocess(data, max_pixels=settings.max_pixels)
    except ImageTooLarge as error:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"{label}: {error}") from error
    except ImageError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{label}: {error}") from error
