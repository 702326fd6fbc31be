"""Small helpers for building test inputs."""

import numpy as np


def image_bytes(pixels: np.ndarray, format: str = "PNG", **save_options) -> bytes:
    """Encode an array (uint8 grey, RGB or RGBA) as an image file."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(buffer, format=format, **save_options)
    return buffer.getvalue()


def noise_png(side: int = 64) -> bytes:
    """A PNG of random grey noise: it compresses badly, so cutting it truncates real data."""
    return image_bytes(np.random.default_rng(0).integers(0, 256, (side, side), dtype=np.uint8))
