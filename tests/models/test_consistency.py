"""Consistency under augmentation: what `train_consistent` refuses."""

import keras
import numpy as np
import pytest

from models.training.consistency import train_consistent


def _head():
    return keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])


@pytest.mark.parametrize(
    ("steps", "confidence", "message"),
    [(0, 0.95, "steps must be at least 1"), (10, 1.0, "confidence must be in")],
)
def test_bad_settings_are_refused(steps, confidence, message, mnist):
    (x_train, y_train), _ = mnist
    images = x_train[:50].astype(np.float32) / 255.0
    with pytest.raises(ValueError, match=message):
        train_consistent(
            _head(),
            lambda batch: keras.ops.reshape(batch, (-1, 784)),
            images,
            np.arange(10),
            y_train[:10],
            steps=steps,
            batch_size=8,
            optimizer=keras.optimizers.Adam(),
            confidence=confidence,
            seed=0,
        )
