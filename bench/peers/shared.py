"""What every peer app runs: handcalc's preprocessing and the same LiteRT exports.

The benchmark passes the exports' paths in `PEER_CLASSIFIER` and `PEER_ADD` (the
active versions' `model.tflite`), so a peer needs nothing of handcalc but this module,
`models.preprocess` and `models.runtime` (numpy, Pillow and LiteRT; no settings, no
store). Answers have handcalc's shape for a single digit: `digit` and `probabilities`
for /classify, `result` for /add.
"""

from __future__ import annotations

import os

import numpy as np

from models.preprocess import preprocess
from models.runtime import LiteModel

CLASSIFIER_VARIABLE = "PEER_CLASSIFIER"
ADD_VARIABLE = "PEER_ADD"


class PeerModels:
    """The classifier and the add head, loaded once per serving process."""

    def __init__(self, num_threads: int = 2) -> None:
        self.classifier = LiteModel(os.environ[CLASSIFIER_VARIABLE], num_threads=num_threads)
        self.add = LiteModel(os.environ[ADD_VARIABLE], num_threads=num_threads)

    def classify(self, images: np.ndarray) -> list[dict]:
        """`(N, 28, 28)` preprocessed images -> one answer each."""
        probabilities = self.classifier.run("classify", image=images)["probabilities"]
        return [
            {"digit": int(row.argmax()), "probabilities": row.tolist()} for row in probabilities
        ]

    def add_pairs(self, pairs: np.ndarray) -> list[dict]:
        """`(N, 2, 28, 28)` preprocessed pairs -> the most probable sum of each."""
        outputs = self.add.run("predict", images=pairs)
        units, tens = outputs["units"].argmax(axis=1), outputs["tens"].argmax(axis=1)
        return [{"result": int(10 * t + u)} for t, u in zip(tens, units, strict=True)]


def image(data: bytes) -> np.ndarray:
    """One upload, prepared exactly as handcalc prepares it: `(28, 28)` float32."""
    return preprocess(data)


def pair(first: bytes, second: bytes) -> np.ndarray:
    return np.stack([preprocess(first), preprocess(second)])
