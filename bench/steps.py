"""Speed of one autoencoder training step, batch normalisation and precision varied.

    python -m bench.steps            (or: make bench-steps)

Times a compiled training step (forward, backward, Adam update) of the default
autoencoder on random images, with Keras' own batch normalisation and with the
fused one the builders use, each in float32 and in mixed bfloat16, and prints a
table with the machine. bfloat16 pays only where the CPU has AMX (see
`models/training/precision.py`); elsewhere expect it to be no faster, or slower.
"""

from __future__ import annotations

import argparse
import time
from unittest import mock

import numpy as np

from bench.machine import describe

VARIANTS = (
    ("Keras batch normalisation", "float32"),
    ("fused batch normalisation", "float32"),
    ("Keras batch normalisation", "mixed_bfloat16"),
    ("fused batch normalisation", "mixed_bfloat16"),
)


def step_time_ms(normalisation: str, policy: str, batch: int, steps: int) -> float:
    """Median milliseconds of one training step, after a few to compile and warm up."""
    import keras
    import tensorflow as tf

    from models.training import builders, precision

    fused = normalisation.startswith("fused")
    layer = builders.FusedBatchNormalization if fused else keras.layers.BatchNormalization
    with (
        mock.patch.object(builders, "FusedBatchNormalization", layer),
        precision.dtype_policy(policy),
    ):
        model = builders.build_autoencoder()
    optimizer = keras.optimizers.Adam(1e-3)
    images = tf.constant(np.random.default_rng(0).random((batch, 28, 28), dtype=np.float32))

    @tf.function
    def train_step() -> None:
        with tf.GradientTape() as tape:
            loss = keras.losses.binary_crossentropy(images, model(images, training=True))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))

    for _ in range(5):
        train_step()
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        train_step()
        times.append(time.perf_counter() - started)
    return float(np.median(times)) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.steps", description=__doc__)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=30)
    arguments = parser.parse_args(argv)
    print(f"Autoencoder training step, batch {arguments.batch}, on {describe()}:\n")
    print("| batch normalisation | precision | ms per step (median) |\n|---|---|---|")
    for normalisation, policy in VARIANTS:
        milliseconds = step_time_ms(normalisation, policy, arguments.batch, arguments.steps)
        print(f"| {normalisation} | {policy} | {milliseconds:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
