"""LitServe, with its own batching: up to 64 requests gathered for 2 ms per model call.

    python -m bench.peers.litserve_app --port 8000

No `from __future__ import annotations` here: LitServe reads `decode_request`'s annotation
as a class to decide whether to hand it the parsed form.
"""

import argparse

import litserve as ls
import numpy as np
from starlette.requests import Request

from bench.peers.shared import PeerModels, image, pair

MAX_BATCH, BATCH_TIMEOUT_S = 64, 0.002


class ClassifyAPI(ls.LitAPI):
    def setup(self, device: str) -> None:
        self.models = PeerModels()

    def decode_request(self, request: Request) -> np.ndarray:
        return image(request["image"].file.read())

    def batch(self, inputs: list[np.ndarray]) -> np.ndarray:
        return np.stack(inputs)

    def predict(self, images: np.ndarray) -> list[dict]:
        return self.models.classify(images)

    def unbatch(self, output: list[dict]) -> list[dict]:
        return output

    def encode_response(self, output: dict) -> dict:
        return output


class AddAPI(ClassifyAPI):
    def decode_request(self, request: Request) -> np.ndarray:
        return pair(request["a"].file.read(), request["b"].file.read())

    def predict(self, pairs: np.ndarray) -> list[dict]:
        return self.models.add_pairs(pairs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    port = parser.parse_args().port
    options = {"max_batch_size": MAX_BATCH, "batch_timeout": BATCH_TIMEOUT_S}
    server = ls.LitServer(
        [ClassifyAPI(api_path="/classify", **options), AddAPI(api_path="/add", **options)],
        accelerator="cpu",
    )
    server.run(host="127.0.0.1", port=port, log_level="warning", generate_client_file=False)


if __name__ == "__main__":
    main()
