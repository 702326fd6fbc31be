"""Request and response bodies, with the examples `/docs` shows."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from models.artifacts.names import NAME_PATTERN


def _example(**values: Any) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [values]})


class ModelRef(BaseModel):
    model_config = ConfigDict(
        frozen=True,  # one per served version, shared by its answers (`model_ref`)
        **_example(name="classifier", version=3, kind="classifier"),
    )

    name: str = Field(description="The registered name that answered.")
    version: int
    kind: str = Field(description="What the name is (models.kinds), e.g. classifier or vae.")


def model_ref(served) -> ModelRef:
    """The `model` object of an answer: the served version's name, number and kind."""
    return _model_ref(served.name, served.version, served.kind.name)


@lru_cache(maxsize=1024)
def _model_ref(name: str, version: int, kind: str) -> ModelRef:
    return ModelRef(name=name, version=version, kind=kind)


class HeadRef(ModelRef):
    model_config = _example(name="add", version=2, kind="add", encoder_version=1)

    encoder_version: int | None = Field(
        None, description="Autoencoder version whose encoder the head's reader was fine-tuned from."
    )


def head_ref(served) -> HeadRef:
    """The `model` object of an arithmetic answer: `model_ref`'s, and for a head the
    autoencoder version its reader started from."""
    return _head_ref(served.name, served.version, served.kind.name, served.encoder_version)


@lru_cache(maxsize=1024)
def _head_ref(name: str, version: int, kind: str, encoder_version: int | None) -> HeadRef:
    return HeadRef(name=name, version=version, kind=kind, encoder_version=encoder_version)


_PROBABILITIES = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.999, 0.0, 0.001]


class Classification(BaseModel):
    model_config = _example(
        digit=7, probabilities=_PROBABILITIES, model={"name": "classifier", "version": 3}
    )

    digit: int = Field(ge=0, le=9)
    probabilities: list[float] = Field(description="One probability per digit, 0 to 9.")
    model: ModelRef


class Encoding(BaseModel):
    model_config = _example(
        latent=[0.12, 0.97, 0.003],
        model={"name": "autoencoder", "version": 1, "kind": "autoencoder"},
    )

    latent: list[float] = Field(description="The latent vector (a VAE: its Gaussian's mean).")
    log_variance: list[float] | None = Field(
        None, description="A VAE's: the log-variance of the latent's Gaussian; else absent."
    )
    model: ModelRef


class DecodeRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [{"latent": [0.5] * 100}]}
    )

    latent: list[float] = Field(
        description="A latent vector as /encode returns it, of the model's length: an "
        "autoencoder's in its range [0, 1], a VAE's within a few units of 0."
    )


class Decoding(BaseModel):
    model_config = _example(pixels=[[0.0] * 28] * 28, model={"name": "autoencoder", "version": 1})

    pixels: list[list[float]] = Field(description="28 rows of 28 values in [0, 1], ink high.")
    model: ModelRef


class Preprocessed(BaseModel):
    model_config = _example(pixels=[[0.0] * 28] * 28)

    pixels: list[list[float]] = Field(
        description="The 28 rows of 28 values in [0, 1] (ink 1.0, paper 0.0, centred by mass) "
        "that every model receives for this upload."
    )


class GenerateRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,  # JSON's types as the schema says them: no true for 1, no "3" for 3
        json_schema_extra={"examples": [{"count": 16, "seed": 7, "temperature": 1.0}]},
    )

    model: str = Field(
        "vae", pattern=NAME_PATTERN, description="Registered name of a VAE (default 'vae')."
    )
    count: int = Field(16, ge=1, le=64, description="How many digits.")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="The same seed gives the same digits.")
    temperature: float = Field(
        1.0, ge=0.0, le=2.0, description="Scale of the prior's spread: 0 decodes its centre."
    )


class Generated(BaseModel):
    model_config = _example(
        images=[[[0.0] * 28] * 28],
        latents=[[0.1, -1.2]],
        seed=7,
        model={"name": "vae", "version": 1, "kind": "vae"},
    )

    images: list[list[list[float]]] = Field(description="Each digit: 28 rows of 28 values.")
    latents: list[list[float]] = Field(description="The latent each digit was decoded from.")
    seed: int | None = Field(description="The seed the latents were drawn with (generate).")
    model: ModelRef


class Parts(BaseModel):
    units: int
    tens: int


class Box(BaseModel):
    x: int
    y: int
    width: int
    height: int


class DigitReading(BaseModel):
    value: int = Field(ge=0, le=9)
    confidence: float = Field(description="The reader's probability for this digit.")
    box: Box = Field(description="Where the digit's ink is, in the uploaded image's pixels.")


class NumberReading(BaseModel):
    model_config = _example(
        value="37",
        confidence=0.98,
        digits=[
            {"value": 3, "confidence": 0.99, "box": {"x": 12, "y": 9, "width": 30, "height": 41}},
            {"value": 7, "confidence": 0.99, "box": {"x": 50, "y": 11, "width": 28, "height": 40}},
        ],
    )

    value: str = Field(description="The number read, most significant digit first.")
    confidence: float = Field(description="Probability that every digit is read right.")
    digits: list[DigitReading]


class Read(NumberReading):
    model: ModelRef


_NUMBERS = {
    "a": {"value": "37", "confidence": 0.98, "digits": []},
    "b": {"value": "45", "confidence": 0.99, "digits": []},
}


class ArithmeticResult(BaseModel):
    model_config = _example(
        result=82,
        result_text="82",
        confidence=0.97,
        parts={"units": 2, "tens": 8},
        **_NUMBERS,
        model={"name": "reader", "version": 1, "kind": "reader"},
    )

    result: int = Field(description="Exact, however many digits (also in `result_text`).")
    result_text: str = Field(description="`result` as a string, for clients without big ints.")
    confidence: float = Field(description="Probability of this result.")
    parts: Parts | None = Field(
        None, description="Units and tens of a result under 100 (two single digits)."
    )
    a: NumberReading | None = Field(None, description="How `a` was read (by a digit reader).")
    b: NumberReading | None = Field(None, description="How `b` was read (by a digit reader).")
    model: HeadRef


class Comparison(BaseModel):
    model_config = _example(
        result=False,
        probability=0.02,
        equal_probability=0.0,
        **_NUMBERS,
        model={"name": "reader", "version": 1, "kind": "reader"},
    )

    result: bool = Field(description="True when the number in `a` is greater than the one in `b`.")
    probability: float = Field(description="Probability that a > b.")
    equal_probability: float | None = Field(
        None, description="Probability that a == b (when a digit reader answered)."
    )
    a: NumberReading | None = None
    b: NumberReading | None = None
    model: HeadRef


class VersionInfo(BaseModel):
    version: int
    created: str | None = None
    metrics: dict[str, float] = {}
    lineage: dict[str, int] = {}
    params: dict[str, Any] = {}
    figures: list[str] = Field(
        [],
        description="Pictures of this version, each at "
        "`/models/{name}/versions/{version}/figures/{figure}.png`.",
    )


class ModelInfo(BaseModel):
    model_config = _example(
        name="add",
        kind="add",
        active=2,
        serving=2,
        versions=[
            {
                "version": 2,
                "created": "2026-11-22T18:00:00+00:00",
                "metrics": {"test_accuracy": 0.97},
                "lineage": {"autoencoder": 1},
                "params": {"epochs": 20},
                "figures": ["training-curves", "pair-accuracy"],
            }
        ],
    )

    name: str
    kind: str | None = Field(description="What every version of this name is (models.kinds).")
    active: int | None = Field(description="Version the `active` alias names.")
    serving: int | None = Field(description="Version this API process is answering with.")
    versions: list[VersionInfo]


class Health(BaseModel):
    status: str = "ok"


class Readiness(BaseModel):
    model_config = _example(
        status="ready",
        models={"autoencoder": 1, "classifier": 1, "add": 1, "multiply": 1, "compare": 1},
        jobs="available",
    )

    status: str
    models: dict[str, int | None]
    jobs: str = Field(
        description="'available', or 'unavailable: <why>' while the broker cannot be reached "
        "(inference is unaffected)"
    )


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
