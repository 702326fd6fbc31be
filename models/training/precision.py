"""The floating-point precision training computes in, and the float32 models it leaves.

`mixed_bfloat16` keeps every weight in float32 and computes the layers in bfloat16,
which pays only where the hardware multiplies bfloat16 natively: a GPU, a CPU with
AMX tiles (Intel Xeon from Sapphire Rapids on), or one with the AVX512_BF16 dot
products (AMD Zen 4 and later, Intel Cooper Lake). On 2 cores, `make bench-steps` timed
an autoencoder step at 53.2 ms against 70.1 ms in float32 on a Xeon with AMX, and at
53.8 against 63.4 ms on a Zen 4 EPYC; 5 epochs scored 0.06402 test BCE against 0.06398
(AMX, one run each). Without either, bfloat16 is emulated and no faster, so `auto`
keeps float32. Whatever a model trained in, it is published in float32.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import keras

from models.params import Precision

CPU_FLAGS = Path("/proc/cpuinfo")


@cache
def native_bfloat16() -> bool:
    """Whether this machine computes bfloat16 natively: a GPU, or a CPU with AMX or
    AVX512_BF16."""
    return has_gpu() or _cpu_multiplies_bfloat16()


def has_gpu() -> bool:
    """Whether the Keras backend trains on a GPU here."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.default_backend() == "gpu"
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    return False


_BFLOAT16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


def _cpu_multiplies_bfloat16() -> bool:
    try:
        text = CPU_FLAGS.read_text()
    except OSError:
        return False
    return any(
        line.startswith("flags") and not _BFLOAT16_FLAGS.isdisjoint(line.split())
        for line in text.splitlines()
    )


def resolve(precision: Precision) -> str:
    """The Keras dtype policy that `precision` stands for on this machine."""
    if precision == "auto":
        return "mixed_bfloat16" if native_bfloat16() else "float32"
    if precision not in ("float32", "mixed_bfloat16"):
        raise ValueError(f"unknown precision {precision!r}")
    return precision


@contextmanager
def dtype_policy(policy: str) -> Iterator[None]:
    """Layers built inside take `policy`; the global policy is restored afterwards."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def in_float32(model: keras.Model, build: Callable[[], keras.Model]) -> keras.Model:
    """`model`'s weights in the float32 network `build` makes (the same architecture).

    A mixed-precision model keeps its weights in float32 already; only the layers'
    compute dtype changes, so the copy serves and exports like any float32 model.
    """
    if model.dtype_policy.name == "float32":
        return model
    with dtype_policy("float32"):
        copy = build()
    copy.set_weights(model.get_weights())
    return copy
