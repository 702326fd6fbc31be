"""Loading MNIST from a local file first, then Keras' cache, then Keras' download.

`load_mnist()` returns `(x_train, y_train), (x_test, y_test)` as uint8 arrays in the
layout of `keras.datasets.mnist`: images `(N, 28, 28)`, labels `(N,)` in 0..9.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np

from models.settings import Settings

Split = tuple[np.ndarray, np.ndarray]
Dataset = tuple[Split, Split]

IMAGE_SIDE = 28
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
_IDX_PREFIXES = {
    "x_train": "train-images",
    "y_train": "train-labels",
    "x_test": "t10k-images",
    "y_test": "t10k-labels",
}
_IDX_UBYTE = 0x08


class DataError(ValueError):
    """The training data could not be found or is not MNIST-shaped."""


def keras_cache_path() -> Path:
    """Where Keras keeps `mnist.npz` after a download (`$KERAS_HOME` or `~/.keras`)."""
    keras_home = os.environ.get("KERAS_HOME")
    base = Path(keras_home) if keras_home else Path.home() / ".keras"
    return base / "datasets" / "mnist.npz"


def load_mnist(path: str | os.PathLike[str] | None = None, *, download: bool = True) -> Dataset:
    """Load MNIST, trying `path` (or `HANDCALC_DATA`), the Keras cache, then the download.

    Raises `DataError` naming every place tried when none of them works, and a
    `DataError` describing the problem when a source exists but is malformed.
    """
    explicit = Path(path) if path is not None else Settings().data
    tried: list[str] = []
    if explicit is not None:
        if explicit.exists():
            return read_mnist(explicit)
        tried.append(f"HANDCALC_DATA={explicit} (does not exist)")
    else:
        tried.append("HANDCALC_DATA (not set)")

    cache = keras_cache_path()
    if cache.is_file():
        return read_mnist(cache)
    tried.append(f"Keras cache {cache} (no such file)")

    if download:
        try:
            return validate(_download_with_keras())
        except DataError:
            raise
        except Exception as error:  # network errors come in many types
            tried.append(f"Keras download ({type(error).__name__}: {error})")
    else:
        tried.append("Keras download (disabled)")

    raise DataError(
        "MNIST could not be loaded. Tried: "
        + "; ".join(tried)
        + ". Set HANDCALC_DATA to a Keras-layout mnist.npz or to a folder holding the four "
        "IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
        "t10k-labels-idx1-ubyte, gzipped or not)."
    )


def read_mnist(path: Path) -> Dataset:
    """Read an `mnist.npz` or an IDX folder, then validate shapes, dtypes and values."""
    if path.is_dir():
        arrays = {key: _read_idx(_find_idx(path, prefix)) for key, prefix in _IDX_PREFIXES.items()}
    else:
        arrays = _read_npz(path)
    return validate(
        ((arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])),
        source=str(path),
    )


def validate(dataset: Dataset, source: str = "the data") -> Dataset:
    """Check that `dataset` has MNIST's layout; return it with uint8 arrays."""
    checked = []
    for split_name, (images, labels) in zip(("train", "test"), dataset, strict=True):
        images, labels = np.asarray(images), np.asarray(labels)
        if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
            raise DataError(
                f"{source}: {split_name} images have shape {images.shape}, "
                f"expected (N, {IMAGE_SIDE}, {IMAGE_SIDE})"
            )
        if images.dtype != np.uint8:
            raise DataError(f"{source}: {split_name} images are {images.dtype}, expected uint8")
        if labels.shape != (images.shape[0],):
            raise DataError(
                f"{source}: {split_name} labels have shape {labels.shape}, "
                f"expected ({images.shape[0]},) to match the images"
            )
        if not np.issubdtype(labels.dtype, np.integer):
            raise DataError(f"{source}: {split_name} labels are {labels.dtype}, expected integers")
        if images.shape[0] == 0:
            raise DataError(f"{source}: the {split_name} split is empty")
        if labels.min() < 0 or labels.max() > 9:
            raise DataError(
                f"{source}: {split_name} labels range {labels.min()}..{labels.max()}, "
                "expected digits 0..9"
            )
        checked.append((images, labels.astype(np.uint8)))
    return checked[0], checked[1]


def digest(dataset: Dataset) -> str:
    """A sha256 over every array, recorded in each model's metadata."""
    hasher = hashlib.sha256()
    for images, labels in dataset:
        hasher.update(np.ascontiguousarray(images).tobytes())
        hasher.update(np.ascontiguousarray(labels).tobytes())
    return "sha256:" + hasher.hexdigest()


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in _NPZ_KEYS if key not in archive.files]
            if missing:
                raise DataError(
                    f"{path}: not a Keras-layout mnist.npz, missing arrays {missing} "
                    f"(found {sorted(archive.files)})"
                )
            return {key: archive[key] for key in _NPZ_KEYS}
    except DataError:
        raise
    except Exception as error:
        raise DataError(f"{path}: cannot be read as an .npz archive ({error})") from error


def _find_idx(folder: Path, prefix: str) -> Path:
    candidates = sorted(p for p in folder.iterdir() if p.is_file() and p.name.startswith(prefix))
    if not candidates:
        raise DataError(f"{folder}: no IDX file named {prefix}* (need all four MNIST IDX files)")
    return candidates[0]


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error})") from error
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    if raw[2] != _IDX_UBYTE:
        raise DataError(f"{path}: IDX element type {raw[2]:#04x}, expected unsigned bytes")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape)) if shape else 0
    if len(raw) - header != expected:
        raise DataError(
            f"{path}: IDX header promises shape {shape} ({expected} bytes) "
            f"but holds {len(raw) - header} bytes"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _download_with_keras() -> Dataset:
    try:
        import keras
    except ImportError as error:
        raise RuntimeError("Keras is not installed (pip install 'handcalc[train]')") from error
    return keras.datasets.mnist.load_data()
