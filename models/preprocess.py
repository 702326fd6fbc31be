"""Turn an uploaded image into the 28x28 float input the models were trained on.

The steps follow how MNIST itself was made: find the ink, crop to its bounding
box, scale the longer side to 20 px with anti-aliasing keeping the aspect ratio,
then place it in a 28x28 field so that its centre of mass sits at the centre.
Everything that can go wrong with an upload raises `ImageError` with a message
meant for the person who sent it.

No TensorFlow here: the API imports this module.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

SIDE = 28
BOX = 20
CENTRE = 14.0  # MNIST's mean centre of mass, in pixel-index coordinates (measured: 13.997, 14.006)
MAX_PIXELS = 40_000_000

MIN_CONTRAST = 0.08  # the ink must differ from the paper by 8% of the full range
INK_THRESHOLD = 0.2  # a pixel is ink when it has 20% of the strongest ink's intensity
FAINT_THRESHOLD = 0.02  # faint anti-aliased edges next to the ink are kept in the crop
MIN_INK_PIXELS = 3

_SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}
_SUPPORTED = "PNG, JPEG, BMP, GIF, WebP or TIFF"


class ImageError(ValueError):
    """An upload that cannot be turned into a digit; the message says why."""


class ImageTooLarge(ImageError):
    """An image over the pixel limit, refused before its pixels were decoded."""


def preprocess(data: bytes, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode an uploaded image and return a `(28, 28)` float32 array in [0, 1], ink high."""
    image = decode(data, max_pixels=max_pixels)
    if _is_mnist_form(image):
        return np.asarray(image, dtype=np.float32) / 255.0
    return normalise(ink_map(image))


def decode(data: bytes, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open the bytes with Pillow, refusing oversized images before their pixels are decoded."""
    if not data:
        raise ImageError("the uploaded file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as error:
        raise ImageError(f"the uploaded file is not an image; send a {_SUPPORTED} file") from error
    except Image.DecompressionBombError as error:
        raise ImageTooLarge(f"the image is too large ({error})") from error
    except (OSError, ValueError, SyntaxError) as error:
        raise ImageError(f"the image cannot be read ({error})") from error

    width, height = image.size
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"the image is {width}x{height} pixels ({width * height / 1e6:.1f} megapixels), "
            f"over the limit of {max_pixels / 1e6:g} megapixels"
        )
    if width == 0 or height == 0:
        raise ImageError(f"the image has no pixels ({width}x{height})")
    try:
        image.seek(0)  # the first frame of an animation
        image.load()
        return ImageOps.exif_transpose(image) or image
    except Exception as error:  # Pillow's decoders raise many types for broken files
        raise ImageError(f"the image is corrupt or truncated ({error})") from error


def ink_map(image: Image.Image) -> np.ndarray:
    """Grey levels with the paper at 0 and the strongest ink at 1, whatever the polarity."""
    grey, alpha = _grey_and_alpha(image)
    ink = _oriented_ink(grey)
    if ink is None and alpha is not None:
        # Ink drawn only through the alpha channel (say, white strokes on a transparent
        # background) vanishes when flattened onto white; the alpha channel holds it.
        ink = _oriented_ink(alpha)
    if ink is None:
        raise ImageError(
            "the image is blank: no ink stands out from the background "
            f"(contrast under {MIN_CONTRAST:.0%} of the full range)"
        )
    return ink


def normalise(ink: np.ndarray) -> np.ndarray:
    """Crop to the ink, scale the longer side to 20 px, centre by mass in 28x28."""
    top, bottom, left, right = _ink_box(ink)
    crop = ink[top:bottom, left:right]
    height, width = crop.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = Image.fromarray(crop.astype(np.float32), mode="F").resize(
        size, Image.Resampling.LANCZOS, reducing_gap=3.0
    )
    digit = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
    return _centre_by_mass(digit)


def _grey_and_alpha(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Luminance in [0, 1] (1 is white) with any transparency flattened onto white."""
    if image.mode in _SIXTEEN_BIT_MODES or image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        full_scale = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        if image.mode == "F":
            full_scale = 1.0 if values.max() <= 1.0 else max(255.0, float(values.max()))
        return np.clip(values / full_scale, 0.0, 1.0), None

    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )
    if not has_alpha:
        if image.mode not in ("L", "RGB"):
            image = image.convert("RGB")
        return np.asarray(image.convert("L"), dtype=np.float64) / 255.0, None

    rgba = image.convert("RGBA")
    alpha = np.asarray(rgba.getchannel("A"), dtype=np.float64) / 255.0
    grey = np.asarray(rgba.convert("RGB").convert("L"), dtype=np.float64) / 255.0
    return grey * alpha + (1.0 - alpha), alpha


def _oriented_ink(grey: np.ndarray) -> np.ndarray | None:
    """Invert dark-on-light images; subtract the paper; stretch ink to 1. None if blank."""
    border = _border(grey)
    if np.median(border) > 0.5:
        grey = 1.0 - grey
        border = 1.0 - border
    paper = float(np.median(border))
    ink = grey - paper
    peak = float(ink.max())
    if peak < MIN_CONTRAST or np.count_nonzero(ink > INK_THRESHOLD * peak) < MIN_INK_PIXELS:
        return None
    return np.clip(ink / peak, 0.0, 1.0)


def _border(values: np.ndarray) -> np.ndarray:
    height, width = values.shape
    band = max(1, min(height, width) // 20)
    return np.concatenate(
        [
            values[:band].ravel(),
            values[-band:].ravel(),
            values[:, :band].ravel(),
            values[:, -band:].ravel(),
        ]
    )


def _ink_box(ink: np.ndarray) -> tuple[int, int, int, int]:
    """Bounding box of the ink, ignoring isolated specks, grown to take in faint edges."""
    mask = ink > INK_THRESHOLD
    padded = np.pad(mask, 1)
    neighbours = sum(
        padded[1 + dy : padded.shape[0] - 1 + dy, 1 + dx : padded.shape[1] - 1 + dx]
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
        if dy or dx
    )
    solid = mask & (neighbours >= 1)
    if np.count_nonzero(solid) < MIN_INK_PIXELS:
        solid = mask
    rows = np.flatnonzero(solid.any(axis=1))
    cols = np.flatnonzero(solid.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1

    faint = ink > FAINT_THRESHOLD
    height, width = ink.shape
    if top > 0 and faint[top - 1, left:right].any():
        top -= 1
    if bottom < height and faint[bottom, left:right].any():
        bottom += 1
    if left > 0 and faint[top:bottom, left - 1].any():
        left -= 1
    if right < width and faint[top:bottom, right].any():
        right += 1
    return int(top), int(bottom), int(left), int(right)


def _centre_by_mass(digit: np.ndarray) -> np.ndarray:
    height, width = digit.shape
    total = float(digit.sum())
    if total <= 0.0:
        raise ImageError("the image is blank: no ink left after scaling")
    centre_y = float((digit.sum(axis=1) * np.arange(height)).sum()) / total
    centre_x = float((digit.sum(axis=0) * np.arange(width)).sum()) / total
    margin = SIDE
    canvas = np.zeros((SIDE + 2 * margin, SIDE + 2 * margin), dtype=np.float32)
    top = margin + round(CENTRE - centre_y)
    left = margin + round(CENTRE - centre_x)
    canvas[top : top + height, left : left + width] = digit
    return canvas[margin : margin + SIDE, margin : margin + SIDE]


def _is_mnist_form(image: Image.Image) -> bool:
    """A 28x28 grey image on black, its ink fitting 20 px and centred by mass: leave it be."""
    if image.size != (SIDE, SIDE) or image.mode != "L":
        return False
    pixels = np.asarray(image)
    if pixels.max() < 255 * (1 - MIN_CONTRAST) or _border(pixels / 255.0).max() > 0:
        return False
    rows = np.flatnonzero(pixels.any(axis=1))
    cols = np.flatnonzero(pixels.any(axis=0))
    if max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 > BOX:
        return False
    total = float(pixels.sum())
    centre_y = float((pixels.sum(axis=1) * np.arange(SIDE)).sum()) / total
    centre_x = float((pixels.sum(axis=0) * np.arange(SIDE)).sum()) / total
    return abs(centre_y - CENTRE) <= 1.0 and abs(centre_x - CENTRE) <= 1.0
