"""Ray Serve, with `@serve.batch` (up to 64 requests gathered for 2 ms) behind its FastAPI
ingress.

    python -m bench.peers.ray_app --port 8000

No `from __future__ import annotations` here: Ray's ingress rebuilds the routes from the
methods' annotations, which must be classes, not strings.
"""

import argparse
import signal
import sys
from typing import Annotated

import numpy as np
import ray
from fastapi import FastAPI, File
from ray import serve

from bench.peers.shared import PeerModels, image, pair

MAX_BATCH, BATCH_WAIT_S = 64, 0.002
# Ray's default (5 requests per replica) starves its own batching; its batching guide asks
# for more than the batch size. With the default it answered 10 requests/s at 32 clients
# here, with a p99 of 4.6 s.
MAX_ONGOING = 2 * MAX_BATCH
api = FastAPI(title="Ray Serve peer")


@serve.deployment(max_ongoing_requests=MAX_ONGOING)
@serve.ingress(api)
class Peer:
    def __init__(self) -> None:
        self.models = PeerModels()

    @serve.batch(max_batch_size=MAX_BATCH, batch_wait_timeout_s=BATCH_WAIT_S)
    async def classify_batch(self, images: list[np.ndarray]) -> list[dict]:
        return self.models.classify(np.stack(images))

    @serve.batch(max_batch_size=MAX_BATCH, batch_wait_timeout_s=BATCH_WAIT_S)
    async def add_batch(self, pairs: list[np.ndarray]) -> list[dict]:
        return self.models.add_pairs(np.stack(pairs))

    @api.post("/classify")
    async def classify(self, image_file: Annotated[bytes, File(alias="image")]) -> dict:
        return await self.classify_batch(image(image_file))

    @api.post("/add")
    async def add(self, a: Annotated[bytes, File()], b: Annotated[bytes, File()]) -> dict:
        return await self.add_batch(pair(a, b))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    port = parser.parse_args().port
    ray.init(include_dashboard=False, log_to_driver=False)
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(Peer.bind(), route_prefix="/", blocking=False)
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, _shut_down)
    signal.pause()  # serve until the benchmark stops this driver


def _shut_down(signal_number: int, frame: object) -> None:
    serve.shutdown()
    ray.shutdown()
    sys.exit(0)


if __name__ == "__main__":
    main()
