"""The API's answers as typed objects. Each keeps every field the API sent (also ones newer
than this client), and `to_json()` gives back exactly the JSON it was read from."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

FINAL_STATES = frozenset({"succeeded", "failed", "cancelled"})


class Answer(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


class ModelRef(Answer):
    """The model version that answered."""

    name: str
    version: int
    kind: str | None = None
    encoder_version: int | None = None

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class Classification(Answer):
    digit: int
    probabilities: list[float]
    model: ModelRef

    @property
    def confidence(self) -> float:
        return self.probabilities[self.digit]


class Encoding(Answer):
    latent: list[float]
    log_variance: list[float] | None = None
    model: ModelRef


class Decoding(Answer):
    pixels: list[list[float]]
    model: ModelRef

    @property
    def array(self) -> np.ndarray:
        """(28, 28) float32, ink high, in [0, 1]."""
        return np.asarray(self.pixels, dtype=np.float32)


class Generated(Answer):
    images: list[list[list[float]]]
    latents: list[list[float]]
    seed: int | None = None
    model: ModelRef

    @property
    def array(self) -> np.ndarray:
        """(N, 28, 28) float32, ink high, in [0, 1]."""
        return np.asarray(self.images, dtype=np.float32)


class Box(Answer):
    x: int
    y: int
    width: int
    height: int


class DigitReading(Answer):
    value: int
    confidence: float
    box: Box


class NumberReading(Answer):
    value: str
    confidence: float
    digits: list[DigitReading]


class Reading(NumberReading):
    model: ModelRef


class ArithmeticResult(Answer):
    result: int
    result_text: str
    confidence: float
    parts: dict[str, int] | None = None
    a: NumberReading | None = None
    b: NumberReading | None = None
    model: ModelRef


class Comparison(Answer):
    result: bool
    probability: float
    equal_probability: float | None = None
    a: NumberReading | None = None
    b: NumberReading | None = None
    model: ModelRef


class JobAccepted(Answer):
    id: str
    status_url: str


class Job(Answer):
    id: str
    model: str
    state: str
    submitted: str
    spec: dict[str, Any] = {}
    progress: dict[str, Any] = {}
    metrics: dict[str, float] = {}
    history: list[dict[str, Any]] = []
    result: dict[str, Any] | None = None
    error: str | None = None

    @property
    def finished(self) -> bool:
        """Succeeded, failed or cancelled: the state will not change again."""
        return self.state in FINAL_STATES


class VersionInfo(Answer):
    version: int
    created: str | None = None
    metrics: dict[str, float] = {}
    lineage: dict[str, int] = {}
    params: dict[str, Any] = {}


class ModelInfo(Answer):
    name: str
    kind: str | None = None
    active: int | None = None
    serving: int | None = None
    versions: list[VersionInfo] = []


class Readiness(Answer):
    status: str
    models: dict[str, int | None]
    jobs: str | None = None
