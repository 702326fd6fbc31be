"""Plain FastAPI, as its tutorial builds it: sync routes, one request per model call.

uvicorn bench.peers.fastapi_app:app --no-access-log
"""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, File

from bench.peers.shared import PeerModels, image, pair

models = PeerModels()
app = FastAPI(title="plain FastAPI peer")


@app.post("/classify")
def classify(image_file: Annotated[bytes, File(alias="image")]) -> dict:
    return models.classify(image(image_file)[None])[0]


@app.post("/add")
def add(a: Annotated[bytes, File()], b: Annotated[bytes, File()]) -> dict:
    return models.add_pairs(pair(a, b)[None])[0]
