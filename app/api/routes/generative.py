"""A VAE's latent space as pictures: new digits from its prior, and walks between two digits.

The sampling and the walks are numpy, here in the API; the model only decodes.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, File, Query, Response, UploadFile

from app.api.deps import AcceptHeader, ScaleQuery, ServerDep, SettingsDep, model_query
from app.api.errors import NAMED_MODEL
from app.api.pictures import check_scale, grid, png_response, wants_json
from app.api.schemas import Generated, GenerateRequest, model_ref
from app.api.uploads import load_image

router = APIRouter(tags=["generative"], responses=NAMED_MODEL)

_PICTURES = {
    200: {
        "content": {"image/png": {}},
        "description": "A PNG grid (default) or, with `Accept: application/json`, the pixels.",
    }
}


def spherical(a: np.ndarray, b: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Points along the great circle from `a` to `b` (slerp), their norms interpolated
    linearly: walks stay where a Gaussian prior keeps its mass, not through its centre."""
    norm_a, norm_b = np.linalg.norm(a), np.linalg.norm(b)
    if norm_a == 0 or norm_b == 0:
        return linear(a, b, weights)
    unit_a, unit_b = a / norm_a, b / norm_b
    angle = np.arccos(np.clip(np.dot(unit_a, unit_b), -1.0, 1.0))
    if angle < 1e-6:
        return linear(a, b, weights)
    w = weights[:, None]
    directions = (np.sin((1 - w) * angle) * unit_a + np.sin(w * angle) * unit_b) / np.sin(angle)
    return directions * ((1 - w) * norm_a + w * norm_b)


def linear(a: np.ndarray, b: np.ndarray, weights: np.ndarray) -> np.ndarray:
    w = weights[:, None]
    return (1 - w) * a + w * b


async def _answer(served, latents: np.ndarray, accept, scale: int, columns: int | None, seed):
    pixels = (await served.infer_async("decode", latents.astype(np.float32)))["pixels"]
    if wants_json(accept):
        return Generated(
            images=pixels.tolist(), latents=latents.tolist(), seed=seed, model=model_ref(served)
        )
    return png_response(grid(pixels, columns), scale, served)


@router.post(
    "/generate",
    response_model=Generated,
    responses=_PICTURES,
    summary="New digits sampled from a VAE's prior",
)
async def generate(
    body: GenerateRequest,
    server: ServerDep,
    settings: SettingsDep,
    scale: ScaleQuery = 1,
    accept: AcceptHeader = None,
) -> Response | Generated:
    """Each latent is drawn from N(0, temperature² I) with the seed and decoded; the same
    seed, count and temperature give the same digits."""
    check_scale(scale, settings)
    served = server.for_route("generate", body.model)
    rng = np.random.default_rng(body.seed)
    length = served.metadata["latent"]["length"]
    latents = rng.standard_normal((body.count, length)) * body.temperature
    return await _answer(served, latents, accept, scale, None, body.seed)


@router.post(
    "/interpolate",
    response_model=Generated,
    responses=_PICTURES,
    summary="The walk through a VAE's latent space from one digit to another",
)
async def interpolate(
    server: ServerDep,
    settings: SettingsDep,
    a: Annotated[UploadFile, File(description="Where the walk starts.")],
    b: Annotated[UploadFile, File(description="Where the walk ends.")],
    steps: Annotated[
        int, Query(ge=2, le=32, description="Digits along the walk, a and b included.")
    ] = 8,
    method: Annotated[
        Literal["linear", "spherical"], Query(description="A straight line, or a great circle.")
    ] = "spherical",
    model: Annotated[str, model_query("vae", "interpolate")] = "vae",
    scale: ScaleQuery = 1,
    accept: AcceptHeader = None,
) -> Response | Generated:
    """Both images are encoded to their latent means; the walk's points are decoded."""
    check_scale(scale, settings)
    served = server.for_route("interpolate", model)
    pair = np.stack([await load_image(a, settings, "a"), await load_image(b, settings, "b")])
    ends = (await served.infer_async("encode", pair))["latent"].astype(np.float64)
    weights = np.linspace(0.0, 1.0, steps)
    walk = spherical if method == "spherical" else linear
    latents = walk(ends[0], ends[1], weights)
    return await _answer(served, latents, accept, scale, steps, None)
