"""Request and response bodies, with the examples `/docs` shows."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def _example(**values: Any) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [values]})


class ModelRef(BaseModel):
    model_config = _example(name="classifier", version=3)

    name: str
    version: int


class HeadRef(ModelRef):
    model_config = _example(name="add", version=2, encoder_version=1)

    encoder_version: int | None = Field(
        description="Autoencoder version whose encoder the head's reader was fine-tuned from."
    )


_PROBABILITIES = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.999, 0.0, 0.001]


class Classification(BaseModel):
    model_config = _example(
        digit=7, probabilities=_PROBABILITIES, model={"name": "classifier", "version": 3}
    )

    digit: int = Field(ge=0, le=9)
    probabilities: list[float] = Field(description="One probability per digit, 0 to 9.")
    model: ModelRef


class Encoding(BaseModel):
    model_config = _example(latent=[0.12, 0.97, 0.003], model={"name": "autoencoder", "version": 1})

    latent: list[float]
    model: ModelRef


class DecodeRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"latent": [0.5] * 100}]}
    )

    latent: list[float] = Field(
        description="A latent vector as /encode returns it: the autoencoder's length, "
        "values in the encoder's range [0, 1]."
    )


class Decoding(BaseModel):
    model_config = _example(pixels=[[0.0] * 28] * 28, model={"name": "autoencoder", "version": 1})

    pixels: list[list[float]] = Field(description="28 rows of 28 values in [0, 1], ink high.")
    model: ModelRef


class Parts(BaseModel):
    units: int
    tens: int


class ArithmeticResult(BaseModel):
    model_config = _example(
        result=12,
        confidence=0.99,
        parts={"units": 2, "tens": 1},
        model={"name": "add", "version": 2, "encoder_version": 1},
    )

    result: int
    confidence: float = Field(description="Probability of this result among all possible ones.")
    parts: Parts
    model: HeadRef


class Comparison(BaseModel):
    model_config = _example(
        result=True, probability=0.98, model={"name": "compare", "version": 1, "encoder_version": 1}
    )

    result: bool = Field(description="True when the digit in `a` is greater than the one in `b`.")
    probability: float = Field(description="Probability that a > b.")
    model: HeadRef


class VersionInfo(BaseModel):
    version: int
    created: str | None = None
    metrics: dict[str, float] = {}
    lineage: dict[str, int] = {}
    params: dict[str, Any] = {}


class ModelInfo(BaseModel):
    model_config = _example(
        name="add",
        active=2,
        serving=2,
        versions=[
            {
                "version": 2,
                "created": "2026-11-22T18:00:00+00:00",
                "metrics": {"test_accuracy": 0.97},
                "lineage": {"autoencoder": 1},
                "params": {"epochs": 20},
            }
        ],
    )

    name: str
    active: int | None = Field(description="Version the `active` alias names.")
    serving: int | None = Field(description="Version this API process is answering with.")
    versions: list[VersionInfo]


class Health(BaseModel):
    status: str = "ok"


class Readiness(BaseModel):
    model_config = _example(
        status="ready",
        models={"autoencoder": 1, "classifier": 1, "add": 1, "multiply": 1, "compare": 1},
    )

    status: str
    models: dict[str, int | None]


class JobAccepted(BaseModel):
    model_config = _example(
        id="3f2c5b0e9a7d4c1e8b6a5f4e3d2c1b0a", status_url="/jobs/3f2c5b0e9a7d4c1e8b6a5f4e3d2c1b0a"
    )

    id: str
    status_url: str


class JobView(BaseModel):
    model_config = _example(
        id="3f2c5b0e9a7d4c1e8b6a5f4e3d2c1b0a",
        model="classifier",
        state="running",
        submitted="2026-11-22T18:00:00.000+00:00",
        spec={"model": "classifier", "params": {"epochs": 3}, "activate": True},
        progress={"epoch": 1, "epochs": 3, "fraction": 0.333},
        metrics={"loss": 0.21, "accuracy": 0.94, "val_loss": 0.06, "val_accuracy": 0.98},
        history=[{"epoch": 1, "loss": 0.21, "val_loss": 0.06}],
        result=None,
        error=None,
    )

    id: str
    model: str
    state: str = Field(description="queued, running, succeeded, failed or cancelled")
    submitted: str
    spec: dict[str, Any]
    progress: dict[str, Any]
    metrics: dict[str, float]
    history: list[dict[str, int | float]]
    result: dict[str, Any] | None = Field(
        description="When succeeded: the published model, version and lineage."
    )
    error: str | None = Field(description="When failed or cancelled: why.")
