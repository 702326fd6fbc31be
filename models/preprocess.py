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

from models import png

SIDE = 28
BOX = 20
CENTRE = 14.0  # MNIST's mean centre of mass, in pixel-index coordinates (measured: 13.997, 14.006)
MAX_PIXELS = 40_000_000

TO_UNIT = np.float32(1 / 255)
"""An 8-bit grey level times this is the model's input, for images already in MNIST form."""
MIN_CONTRAST = 0.08  # the ink must differ from the paper by 8% of the full range
INK_THRESHOLD = 0.2  # a pixel is ink when it has 20% of the strongest ink's intensity
FAINT_THRESHOLD = 0.02  # faint anti-aliased edges next to the ink are kept in the crop
MIN_INK_PIXELS = 3

_ORIENTATION = 0x0112  # the EXIF tag
_SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}
_SUPPORTED = "PNG, JPEG, BMP, GIF, WebP or TIFF"
FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF")
"""The only decoders Pillow may try: no FITS, PSD, ICNS, ... whatever an upload claims to be."""


class ImageError(ValueError):
    """An upload that cannot be turned into a digit; the message says why."""


class ImageTooLarge(ImageError):
    """An image over the pixel limit, refused before its pixels were decoded."""


def preprocess(data: bytes, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode an uploaded image and return a `(28, 28)` float32 array in [0, 1], ink high."""
    image = decode(data, max_pixels=max_pixels)
    ready = mnist_form(image)
    return ready if ready is not None else normalise(ink_map(image))


def preprocess_many(
    uploads: list[bytes], *, max_pixels: int = MAX_PIXELS
) -> tuple[np.ndarray, dict[int, ImageError]]:
    """`preprocess` for a batch: `(N, 28, 28)` images, and the error of each bad upload.

    Images already in MNIST form (the usual case for batch clients) are checked all
    at once with array operations; the others go through the full pipeline. A bad
    upload leaves zeros in its row and an entry in the returned errors.
    """
    batch = np.zeros((len(uploads), SIDE, SIDE), dtype=np.float32)
    errors: dict[int, ImageError] = {}
    small: list[int] = []
    small_pixels: list[np.ndarray] = []
    others: list[tuple[int, Image.Image]] = []
    for index, data in enumerate(uploads):
        try:
            image = decode(data, max_pixels=max_pixels)
        except ImageError as error:
            errors[index] = error
            continue
        if image.size == (SIDE, SIDE) and image.mode == "L":
            small.append(index)
            small_pixels.append(np.asarray(image))
        else:
            others.append((index, image))
    if small:
        stack = np.stack(small_pixels)
        ready = _mnist_form_mask(stack)
        batch[np.asarray(small)[ready]] = stack[ready] * TO_UNIT
        others.extend(
            (i, Image.fromarray(p))
            for i, p, ok in zip(small, small_pixels, ready, strict=True)
            if not ok
        )
    for index, image in others:
        try:
            batch[index] = normalise(ink_map(image))
        except ImageError as error:
            errors[index] = error
    return batch, errors


def decode(data: bytes, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open the bytes with Pillow, refusing oversized images before their pixels are decoded."""
    if not data:
        raise ImageError("the uploaded file is empty")
    plain = png.open_plain(data, max_pixels)  # the usual digit upload, read quicker
    if plain is not None:
        return plain
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
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
        if image.getexif().get(_ORIENTATION, 1) != 1:
            image = ImageOps.exif_transpose(image)
        return image
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
    if not rows.size:  # only faint ink (a sliver of a neighbour's edge, say)
        raise ImageError("no ink stands out: nothing to crop to")
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


_INDEX = np.arange(SIDE, dtype=np.float64)
_MASSES = np.stack([np.ones(SIDE * SIDE), *np.divmod(np.arange(SIDE * SIDE), SIDE)], axis=1)
"""Row-major pixels times this: (total ink, ink times row, ink times column)."""


def mnist_form(image: Image.Image) -> np.ndarray | None:
    """The model input of an image already in MNIST form (28x28 grey on black, the ink
    fitting 20 px and centred by mass): its pixels over 255; None for any other image.

    This runs on every upload, so it asks Pillow's C code for the extremes and the ink's
    box and numpy for one product that gives the centre of mass; the same test as
    `_mnist_form_mask`, which checks a batch at once."""
    if image.size != (SIDE, SIDE) or image.mode != "L":
        return None
    if image.getextrema()[1] < 255 * (1 - MIN_CONTRAST):
        return None
    left, top, right, bottom = image.getbbox()  # of the pixels above 0
    if not (left and top) or right == SIDE or bottom == SIDE:  # ink on the border
        return None
    if max(right - left, bottom - top) > BOX:
        return None
    pixels = np.frombuffer(image.tobytes(), dtype=np.uint8)
    total, row_mass, col_mass = (pixels @ _MASSES).tolist()
    if abs(row_mass / total - CENTRE) > 1.0 or abs(col_mass / total - CENTRE) > 1.0:
        return None
    return pixels.reshape(SIDE, SIDE) * TO_UNIT


def _mnist_form_mask(stack: np.ndarray) -> np.ndarray:
    """`mnist_form`'s test for a stack of `(N, 28, 28)` uint8 images at once."""
    strong = stack.max(axis=(1, 2)) >= 255 * (1 - MIN_CONTRAST)
    border = (
        stack[:, 0].any(axis=1)
        | stack[:, -1].any(axis=1)
        | stack[:, :, 0].any(axis=1)
        | stack[:, :, -1].any(axis=1)
    )
    rows, cols = stack.any(axis=2), stack.any(axis=1)
    height = SIDE - rows.argmax(axis=1) - rows[:, ::-1].argmax(axis=1)
    width = SIDE - cols.argmax(axis=1) - cols[:, ::-1].argmax(axis=1)
    row_mass = stack.sum(axis=2, dtype=np.float64)
    col_mass = stack.sum(axis=1, dtype=np.float64)
    total = np.maximum(row_mass.sum(axis=1), 1.0)
    centre_y, centre_x = row_mass @ _INDEX / total, col_mass @ _INDEX / total
    centred = (np.abs(centre_y - CENTRE) <= 1.0) & (np.abs(centre_x - CENTRE) <= 1.0)
    return strong & ~border & (np.maximum(height, width) <= BOX) & centred
