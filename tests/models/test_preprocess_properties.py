"""Property tests of the image path: whatever bytes arrive, the result is a digit image or an
`ImageError` (never another exception), and formats outside the README's list are never
decoded. Hypothesis draws the bytes; real MNIST digits seed the truncated and mangled files."""

from __future__ import annotations

import gzip
import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from models.preprocess import FORMATS, ImageError, ImageTooLarge, preprocess, preprocess_many

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _only_image_error(data: bytes, max_pixels: int = 40_000_000) -> None:
    try:
        pixels = preprocess(data, max_pixels=max_pixels)
    except ImageError:
        return
    assert pixels.shape == (28, 28) and pixels.dtype == np.float32
    assert np.isfinite(pixels).all() and pixels.min() >= 0.0 and pixels.max() <= 1.0


def _encoded(digit: np.ndarray) -> dict[str, bytes]:
    files = {}
    for name in FORMATS:
        buffer = io.BytesIO()
        Image.fromarray(255 - digit).save(buffer, format=name)
        files[name] = buffer.getvalue()
    return files


@pytest.fixture(scope="module")
def encoded_digits(mnist):
    (_, _), (images, _) = mnist
    return [_encoded(images[index]) for index in range(3)]


@SETTINGS
@given(data=st.binary(max_size=4096))
def test_random_bytes_are_refused_with_an_image_error(data):
    _only_image_error(data)


@SETTINGS
@given(choice=st.data())
def test_truncated_files_of_every_format(encoded_digits, choice):
    files = choice.draw(st.sampled_from(encoded_digits))
    name = choice.draw(st.sampled_from(FORMATS))
    data = files[name]
    cut = choice.draw(st.integers(0, len(data) - 1))
    _only_image_error(data[:cut])


@SETTINGS
@given(choice=st.data())
def test_flipped_bytes_in_real_files(encoded_digits, choice):
    files = choice.draw(st.sampled_from(encoded_digits))
    data = bytearray(files[choice.draw(st.sampled_from(FORMATS))])
    for _ in range(choice.draw(st.integers(1, 8))):
        data[choice.draw(st.integers(0, len(data) - 1))] = choice.draw(st.integers(0, 255))
    _only_image_error(bytes(data))


def _png_header(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + header
    body = struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    idat = zlib.compress(b"\x00" * 64)
    idat_chunk = b"IDAT" + idat
    return (
        b"\x89PNG\r\n\x1a\n"
        + body
        + struct.pack(">I", len(idat))
        + idat_chunk
        + struct.pack(">I", zlib.crc32(idat_chunk))
    )


@SETTINGS
@given(width=st.integers(1, 2**31 - 1), height=st.integers(1, 2**31 - 1))
def test_huge_dimensions_in_headers_are_refused_before_decoding(width, height):
    data = _png_header(width, height)
    if width * height > 1_000_000:
        with pytest.raises(ImageTooLarge):
            preprocess(data, max_pixels=1_000_000)
    else:
        _only_image_error(data, max_pixels=1_000_000)


def test_formats_outside_the_list_are_never_decoded():
    # a FITS file, and the same gzip-compressed (the decompression bomb Pillow < 12.2 expanded)
    header = "".join(
        card.ljust(80)
        for card in ("SIMPLE  =                    T", "BITPIX  =                    8",
                     "NAXIS   =                    2", "NAXIS1  =                   28",
                     "NAXIS2  =                   28", "END")
    ).ljust(2880).encode()  # fmt: skip
    fits = header + bytes(range(256)) * 3 + bytes(28 * 28 - 768)
    for data in (fits, gzip.compress(fits)):
        with pytest.raises(ImageError, match="not an image"):
            preprocess(data)


def test_polyglots_read_as_the_image_they_start_with_or_not_at_all(encoded_digits):
    png = encoded_digits[0]["PNG"]
    # an image with an archive appended decodes as the image; an archive first is refused
    assert preprocess(png + b"PK\x03\x04" + bytes(100)).shape == (28, 28)
    with pytest.raises(ImageError):
        preprocess(b"PK\x03\x04" + bytes(30) + png)
    with pytest.raises(ImageError):
        preprocess(b"%PDF-1.7\n" + png)


@SETTINGS
@given(uploads=st.lists(st.binary(max_size=512), min_size=1, max_size=8))
def test_a_batch_reports_every_bad_upload_by_index(uploads):
    batch, errors = preprocess_many(uploads)
    assert batch.shape == (len(uploads), 28, 28)
    assert all(isinstance(error, ImageError) for error in errors.values())
    assert set(errors) <= set(range(len(uploads)))
