"""The quick path for plain grey PNGs against Pillow, on real digits and on odd files."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from models import png
from models.preprocess import MAX_PIXELS, ImageError, decode, preprocess
from tests.helpers import image_bytes


def pillow_pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


@pytest.mark.parametrize(
    "options",
    [{}, {"optimize": True}, {"compress_level": 0}, {"compress_level": 9}, {"dpi": (300, 300)}],
)
def test_real_digits_read_exactly_as_pillow_reads_them(digits, options) -> None:
    images, _ = digits
    for pixels in images[:50]:
        data = image_bytes(pixels, **options)
        image = png.open_plain(data, MAX_PIXELS)
        assert image is not None and image.mode == "L" and image.size == (28, 28)
        np.testing.assert_array_equal(np.asarray(image), pillow_pixels(data))


def test_any_size_of_grey_reads_as_pillow_reads_it() -> None:
    rng = np.random.default_rng(0)
    smooth = np.cumsum(rng.integers(0, 3, (61, 203)), axis=1).astype(np.uint8)
    for pixels in (smooth, rng.integers(0, 256, (5, 7), dtype=np.uint8), smooth[:1, :1]):
        data = image_bytes(pixels)
        np.testing.assert_array_equal(np.asarray(png.open_plain(data, MAX_PIXELS)), pixels)


@pytest.mark.parametrize("row_filter", [0, 1, 2, 3, 4])
def test_each_row_filter_is_undone(digits, row_filter: int) -> None:
    pixels = digits[0][0]
    data = _encoded(pixels, row_filter)
    np.testing.assert_array_equal(pillow_pixels(data), pixels)  # the file is right
    np.testing.assert_array_equal(np.asarray(png.open_plain(data, MAX_PIXELS)), pixels)


def _encoded(pixels: np.ndarray, row_filter: int) -> bytes:
    """A grey PNG whose every row uses `row_filter` (0 none, 1 sub, 2 up, 3 average,
    4 Paeth), written by hand as the PNG specification defines them."""
    height, width = pixels.shape
    values = pixels.astype(int)
    raw = bytearray()
    for y in range(height):
        raw.append(row_filter)
        for x in range(width):
            left = values[y, x - 1] if x else 0
            up = values[y - 1, x] if y else 0
            up_left = values[y - 1, x - 1] if x and y else 0
            predicted = [0, left, up, (left + up) // 2, _paeth(left, up, up_left)][row_filter]
            raw.append((values[y, x] - predicted) % 256)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        png.SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(raw)))
        + _chunk(b"IEND", b"")
    )


def _paeth(left: int, up: int, up_left: int) -> int:
    estimate = left + up - up_left
    distances = [abs(estimate - left), abs(estimate - up), abs(estimate - up_left)]
    return (left, up, up_left)[distances.index(min(distances))]


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _with_chunk(data: bytes, kind: bytes, body: bytes) -> bytes:
    """`data` with one more chunk before IEND (a valid one, checksum and all)."""
    return data[:-12] + _chunk(kind, body) + data[-12:]


def _digit_png() -> bytes:
    pixels = np.zeros((28, 28), np.uint8)
    pixels[6:22, 12:16] = 255
    return image_bytes(pixels)


def _broken_checksum() -> bytes:
    data = bytearray(_digit_png())
    data[37] ^= 0xFF  # a byte of the IDAT chunk's data
    return bytes(data)


@pytest.mark.parametrize(
    "case",
    [
        "colour",
        "grey with alpha",
        "16-bit grey",
        "palette",
        "transparency",
        "exif",
        "unknown chunk",
        "bad checksum",
        "truncated",
        "over the pixel limit",
        "not a png",
    ],
)
def test_anything_but_a_plain_grey_png_is_left_to_pillow(case: str) -> None:
    grey = np.full((28, 28), 40, np.uint8)
    data = {
        "colour": lambda: image_bytes(np.zeros((28, 28, 3))),
        "grey with alpha": lambda: _save(Image.new("LA", (28, 28))),
        "16-bit grey": lambda: _save(Image.new("I;16", (28, 28))),
        "palette": lambda: _save(Image.new("P", (28, 28))),
        "transparency": lambda: image_bytes(grey, transparency=40),
        "exif": lambda: _with_chunk(_digit_png(), b"eXIf", Image.Exif().tobytes()),
        "unknown chunk": lambda: _with_chunk(_digit_png(), b"abCD", b"?"),
        "bad checksum": _broken_checksum,
        "truncated": lambda: _digit_png()[:-30],
        "over the pixel limit": lambda: image_bytes(np.zeros((100, 100))),
        "not a png": lambda: image_bytes(grey, format="BMP"),
    }[case]()
    assert png.open_plain(data, max_pixels=5_000) is None


def _save(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_decode_still_says_what_is_wrong_with_broken_pngs() -> None:
    with pytest.raises(ImageError, match="corrupt or truncated|cannot be read"):
        decode(_digit_png()[:-30])
    with pytest.raises(ImageError, match="not an image"):  # Pillow's verdict, as before
        decode(_broken_checksum())
    with pytest.raises(ImageError, match="over the limit"):
        decode(image_bytes(np.zeros((100, 100))), max_pixels=5_000)


def test_a_real_digit_is_the_same_model_input_either_way(digits) -> None:
    images, _ = digits
    for pixels in images[:20]:
        data = image_bytes(pixels)
        through_pillow = preprocess(image_bytes(pixels, format="BMP"))
        np.testing.assert_array_equal(preprocess(data), through_pillow)
