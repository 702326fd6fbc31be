"""The seeds' way, for comparison in the load benchmark: Keras `model.predict` per request.

HANDCALC_ARTIFACT_ROOT=... uvicorn --factory bench.seed_app:create_app --port 8100
"""

from __future__ import annotations

from typing import Annotated

import keras
from fastapi import FastAPI, File, UploadFile

from models.artifacts.catalog import KERAS_FILE
from models.artifacts.registry import ArtifactStore
from models.preprocess import preprocess
from models.settings import Settings


def create_app() -> FastAPI:
    stored = ArtifactStore(Settings().artifacts).resolve("classifier")
    model = keras.saving.load_model(stored.file(KERAS_FILE), compile=False, safe_mode=True)
    app = FastAPI(title="seed-style classifier")

    @app.post("/classify")
    def classify(image: Annotated[UploadFile, File()]) -> dict:
        probabilities = model.predict(preprocess(image.file.read())[None], verbose=0)[0]
        return {"digit": int(probabilities.argmax()), "probabilities": probabilities.tolist()}

    @app.get("/readyz")
    def ready() -> dict:
        return {"status": "ready"}

    return app
