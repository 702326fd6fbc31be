"""Reading uploaded images into model inputs, with every failure a clear 4xx.

Small uploads (the usual digit image is a few hundred bytes) are decoded right on
the event loop, which costs less than handing them to a thread; larger ones, and
batches, are decoded in the thread pool so that one big image never stalls others.
"""

from __future__ import annotations

import numpy as np
from fastapi import HTTPException, UploadFile, status
from starlette.concurrency import run_in_threadpool

from app.settings import ApiSettings
from models.numbers.cut import Digit, cut_number
from models.numbers.split import Judge
from models.preprocess import ImageError, ImageTooLarge, preprocess, preprocess_many

INLINE_BYTES = 64 * 1024


async def load_image(upload: UploadFile, settings: ApiSettings, field: str) -> np.ndarray:
    """The upload as a `(28, 28)` float image; 413 or 422 saying what was wrong."""
    data = await _read_bytes(upload, settings, field)
    if len(data) <= INLINE_BYTES:
        return _preprocess(data, settings, _label(upload, field))
    return await run_in_threadpool(_preprocess, data, settings, _label(upload, field))


async def load_images(uploads: list[UploadFile], settings: ApiSettings, field: str) -> np.ndarray:
    """Several uploads as `(N, 28, 28)`; the first bad one is named in the error."""
    labels = [f"{field}[{index}]" for index in range(len(uploads))]
    datas = [
        await _read_bytes(u, settings, label) for u, label in zip(uploads, labels, strict=True)
    ]
    batch, errors = await run_in_threadpool(preprocess_many, datas, max_pixels=settings.max_pixels)
    if errors:
        first = min(errors)
        raise _refusal(_label(uploads[first], labels[first]), errors[first])
    return batch


async def load_numbers(
    uploads: dict[str, UploadFile],
    settings: ApiSettings,
    judge: Judge | None = None,
    keep_whole: bool = False,
) -> list[list[Digit]]:
    """The digits of the number in each upload (by field), left to right
    (`models.numbers.cut`); 413 or 422 naming the first bad one. Small uploads are cut on
    the event loop (a lone digit costs less than a trip to a thread), others in one trip
    to the thread pool: a long number costs milliseconds."""
    labelled = [
        (await _read_bytes(upload, settings, field), _label(upload, field))
        for field, upload in uploads.items()
    ]
    if sum(len(data) for data, _ in labelled) <= INLINE_BYTES:
        # Small images are cut right here, unless the cut needs the reader's opinion (a
        # group of touching digits): that is a model call, never made on the event loop.
        try:
            return _cut_all(labelled, settings, judge and _judge_elsewhere, keep_whole)
        except _JudgeNeeded:
            pass
    return await run_in_threadpool(_cut_all, labelled, settings, judge, keep_whole)


class _JudgeNeeded(Exception):
    """Raised by `_judge_elsewhere`: cut again in the thread pool, with the real judge."""


def _judge_elsewhere(images: np.ndarray) -> np.ndarray:
    raise _JudgeNeeded


async def load_number(
    upload: UploadFile,
    settings: ApiSettings,
    field: str,
    judge: Judge | None = None,
    keep_whole: bool = False,
) -> list[Digit]:
    """The digits of the number in one upload (see `load_numbers`)."""
    (digits,) = await load_numbers({field: upload}, settings, judge, keep_whole)
    return digits


def _cut_all(
    labelled: list[tuple[bytes, str]],
    settings: ApiSettings,
    judge: Judge | None,
    keep_whole: bool,
) -> list[list[Digit]]:
    return [_cut(data, settings, label, judge, keep_whole) for data, label in labelled]


def _cut(
    data: bytes, settings: ApiSettings, label: str, judge: Judge | None, keep_whole: bool
) -> list[Digit]:
    try:
        return cut_number(
            data,
            max_pixels=settings.max_pixels,
            max_digits=settings.max_digits,
            judge=judge,
            keep_whole=keep_whole,
        )
    except ImageError as error:
        raise _refusal(label, error) from error


def _preprocess(data: bytes, settings: ApiSettings, label: str) -> np.ndarray:
    try:
        return preprocess(data, max_pixels=settings.max_pixels)
    except ImageError as error:
        raise _refusal(label, error) from error


def _label(upload: UploadFile, field: str) -> str:
    return f"'{field}'" + (f" ({upload.filename})" if upload.filename else "")


async def _read_bytes(upload: UploadFile, settings: ApiSettings, field: str) -> bytes:
    await upload.seek(0)
    data = await upload.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"{_label(upload, field)}: the file is over the upload limit of "
            f"{settings.max_upload_bytes:,} bytes",
        )
    return data


def _refusal(label: str, error: ImageError) -> HTTPException:
    if isinstance(error, ImageTooLarge):
        return HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"{label}: {error}")
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{label}: {error}")
