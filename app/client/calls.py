"""Every public route as a `Call`: the HTTP request to send and how to read its answer.

The sync and the async client send the same calls; nothing here does any I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

import httpx
import numpy as np
from PIL import Image

from app.client import results
from app.client.errors import ApiError
from app.client.images import ImageInput, Upload, open_png, upload

T = TypeVar("T")
A = TypeVar("A", bound=results.Answer)
Latent = Sequence[float] | np.ndarray
JSON_ANSWER = {"Accept": "application/json"}


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    read: Callable[[httpx.Response], T]
    params: dict[str, Any] = field(default_factory=dict)
    files: list[tuple[str, Upload]] | None = None
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def request(self) -> dict[str, Any]:
        """Keyword arguments for `httpx.Client.request` (or the async one)."""
        params = {key: value for key, value in self.params.items() if value is not None}
        return {
            "method": self.method,
            "url": self.path,
            "params": params,
            "files": self.files,
            "json": self.json,
            "headers": self.headers,
        }

    def answer(self, response: httpx.Response) -> T:
        """The answer read from a response; `ApiError` with the API's detail for an error."""
        if response.is_error:
            raise ApiError.from_response(response)
        return self.read(response)


def _one(kind: type[A]) -> Callable[[httpx.Response], A]:
    return lambda response: kind.model_validate(response.json())


def _many(kind: type[A]) -> Callable[[httpx.Response], list[A]]:
    return lambda response: [kind.model_validate(item) for item in response.json()]


def _picture(response: httpx.Response) -> Image.Image:
    return open_png(response.content)


def _nothing(response: httpx.Response) -> None:
    return None


def _segment(value: str | int) -> str:
    return quote(str(value), safe="")


def _pair(a: ImageInput, b: ImageInput) -> list[tuple[str, Upload]]:
    return [("a", upload(a, "a.png")), ("b", upload(b, "b.png"))]


def classify(image: ImageInput, *, model: str | None = None) -> Call[results.Classification]:
    """Which digit is in the image."""
    files = [("image", upload(image))]
    return Call("POST", "/classify", _one(results.Classification), {"model": model}, files)


def classify_many(
    images: Sequence[ImageInput], *, model: str | None = None
) -> Call[list[results.Classification]]:
    """The digits in several images, in one request; answers in the same order."""
    files = [("images", upload(image, f"image-{i}.png")) for i, image in enumerate(images)]
    return Call("POST", "/classify", _many(results.Classification), {"model": model}, files)


def encode(image: ImageInput, *, model: str | None = None) -> Call[results.Encoding]:
    """The latent of a digit (a VAE's: the mean, and the log-variance)."""
    files = [("image", upload(image))]
    return Call("POST", "/encode", _one(results.Encoding), {"model": model}, files)


def _latent(latent: Latent) -> dict[str, list[float]]:
    return {"latent": [float(value) for value in np.asarray(latent).ravel()]}


def decode(latent: Latent, *, model: str | None = None) -> Call[results.Decoding]:
    """The pixels a latent stands for (`.array`: 28x28 floats, ink high)."""
    params = {"model": model}
    read = _one(results.Decoding)
    return Call("POST", "/decode", read, params, json=_latent(latent), headers=JSON_ANSWER)


def decode_image(latent: Latent, *, model: str | None = None, scale: int = 1) -> Call[Image.Image]:
    """The image a latent stands for, as a PIL image (`scale` times 28 pixels a side)."""
    params = {"model": model, "scale": scale}
    return Call("POST", "/decode", _picture, params, json=_latent(latent))


def _prior(count: int, seed: int, temperature: float, model: str | None) -> dict[str, Any]:
    body = {"count": count, "seed": seed, "temperature": float(temperature)}
    return body if model is None else {**body, "model": model}


def generate(
    count: int = 16, seed: int = 0, temperature: float = 1.0, *, model: str | None = None
) -> Call[results.Generated]:
    """New digits drawn from a VAE's prior: their pixels and latents."""
    body = _prior(count, seed, temperature, model)
    return Call("POST", "/generate", _one(results.Generated), json=body, headers=JSON_ANSWER)


def generate_image(
    count: int = 16,
    seed: int = 0,
    temperature: float = 1.0,
    *,
    model: str | None = None,
    scale: int = 1,
) -> Call[Image.Image]:
    """New digits drawn from a VAE's prior, as one PIL image of a grid."""
    body = _prior(count, seed, temperature, model)
    return Call("POST", "/generate", _picture, {"scale": scale}, json=body)


def _walk(steps: int, method: str, model: str | None, scale: int | None) -> dict[str, Any]:
    return {"steps": steps, "method": method, "model": model, "scale": scale}


Walk = Literal["linear", "spherical"]


def interpolate(
    a: ImageInput,
    b: ImageInput,
    *,
    steps: int = 8,
    method: Walk = "spherical",
    model: str | None = None,
) -> Call[results.Generated]:
    """The walk through a VAE's latent space from digit a to digit b: pixels and latents."""
    params = _walk(steps, method, model, None)
    read = _one(results.Generated)
    return Call("POST", "/interpolate", read, params, _pair(a, b), headers=JSON_ANSWER)


def interpolate_image(
    a: ImageInput,
    b: ImageInput,
    *,
    steps: int = 8,
    method: Walk = "spherical",
    model: str | None = None,
    scale: int = 1,
) -> Call[Image.Image]:
    """The walk from digit a to digit b as one PIL image, a row of `steps` digits."""
    return Call("POST", "/interpolate", _picture, _walk(steps, method, model, scale), _pair(a, b))


def read(image: ImageInput, *, model: str | None = None) -> Call[results.Reading]:
    """The whole number in an image, digit by digit."""
    files = [("image", upload(image))]
    return Call("POST", "/read", _one(results.Reading), {"model": model}, files)


def add(
    a: ImageInput, b: ImageInput, *, model: str | None = None
) -> Call[results.ArithmeticResult]:
    """The exact sum of the numbers (or digits) in two images."""
    return Call("POST", "/add", _one(results.ArithmeticResult), {"model": model}, _pair(a, b))


def multiply(
    a: ImageInput, b: ImageInput, *, model: str | None = None
) -> Call[results.ArithmeticResult]:
    """The exact product of the numbers (or digits) in two images."""
    return Call("POST", "/multiply", _one(results.ArithmeticResult), {"model": model}, _pair(a, b))


def compare(a: ImageInput, b: ImageInput, *, model: str | None = None) -> Call[results.Comparison]:
    """Whether the number in a is greater than the one in b, and how probably."""
    return Call("POST", "/compare", _one(results.Comparison), {"model": model}, _pair(a, b))


def submit(
    model: str,
    *,
    kind: str | None = None,
    params: dict[str, Any] | None = None,
    activate: bool = True,
    encoder_version: int | None = None,
    reader_version: int | None = None,
) -> Call[results.JobAccepted]:
    """Queue a training job for a new version of `model`; its `id`. Needs the token."""
    spec = {
        "model": model,
        "kind": kind,
        "params": params or {},
        "activate": activate,
        "encoder_version": encoder_version,
        "reader_version": reader_version,
    }
    body = {key: value for key, value in spec.items() if value is not None}
    return Call("POST", "/jobs", _one(results.JobAccepted), json=body)


def job(job_id: str) -> Call[results.Job]:
    """One job: its state, progress, metrics and, when it succeeded, the published version."""
    return Call("GET", f"/jobs/{_segment(job_id)}", _one(results.Job))


def jobs(*, limit: int = 50, offset: int = 0) -> Call[list[results.Job]]:
    """Recent jobs, newest first, a page at a time."""
    return Call("GET", "/jobs", _many(results.Job), {"limit": limit, "offset": offset})


def cancel(job_id: str) -> Call[results.Job]:
    """Cancel a job: a queued one never runs, a running one stops and publishes nothing."""
    return Call("DELETE", f"/jobs/{_segment(job_id)}", _one(results.Job))


def models() -> Call[list[results.ModelInfo]]:
    """Every registered name: kind, active and served version, each version's metrics."""
    return Call("GET", "/models", _many(results.ModelInfo))


def activate(name: str, version: int) -> Call[results.ModelInfo]:
    """Make `version` the active one of `name` (promote or roll back). Needs the token."""
    path = f"/models/{_segment(name)}/versions/{_segment(version)}/activate"
    return Call("POST", path, _one(results.ModelInfo))


def delete(name: str, version: int) -> Call[None]:
    """Delete a version that is neither active nor in another's lineage. Needs the token."""
    return Call("DELETE", f"/models/{_segment(name)}/versions/{_segment(version)}", _nothing)


def health() -> Call[bool]:
    """Whether the API process is alive."""
    return Call("GET", "/healthz", lambda response: response.json().get("status") == "ok")


def ready() -> Call[results.Readiness]:
    """Which version of each model is served; `ApiError` 503 while one is not loaded."""
    return Call("GET", "/readyz", _one(results.Readiness))
