"""BentoML, with its adaptive batching of up to 64 inputs (its default latency limit: with one
of 10 ms it refused most requests at 32 clients here as "process is overloaded").

    bentoml serve bench.peers.bentoml_app:Peer --port 8000
"""

from __future__ import annotations

from pathlib import Path

import bentoml
import numpy as np

from bench.peers.shared import PeerModels, image, pair

MAX_BATCH = 64


@bentoml.service(workers=1, logging={"access": {"enabled": False}})
class Peer:
    def __init__(self) -> None:
        self.models = PeerModels()

    @bentoml.api(batchable=True, max_batch_size=MAX_BATCH)
    def classify(self, image: list[Path]) -> list[dict]:
        return self.models.classify(np.stack([_read(path) for path in image]))

    @bentoml.api
    def add(self, a: Path, b: Path) -> dict:
        return self.models.add_pairs(pair(a.read_bytes(), b.read_bytes())[None])[0]


def _read(path: Path) -> np.ndarray:
    return image(path.read_bytes())
