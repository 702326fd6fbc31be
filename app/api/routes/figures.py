"""The pictures of each version (`models.figures` draws them when the worker publishes it).

Versions never change, so a figure is cached for a year by anyone; its ETag is its digest
in the version's manifest, and a request that names it gets a 304 without reading a byte.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Response, status

from app.api.deps import ServerDep
from app.api.errors import ErrorBody
from app.api.routes.models import known_name, store_errors
from app.serving.server import ModelServer
from models.artifacts.catalog import figure_file
from models.artifacts.registry import NotFound, Version

router = APIRouter(prefix="/models", tags=["models"])

IMMUTABLE = "public, max-age=31536000, immutable"

_FIGURE = {
    200: {"content": {"image/png": {}}, "description": "The figure, a PNG."},
    304: {"description": "The figure the `If-None-Match` ETag names: unchanged, as always."},
    404: {
        "model": ErrorBody,
        "description": "No such name, version or figure; `detail` lists what there is.",
    },
    409: {"model": ErrorBody, "description": "The stored figure does not match its digest."},
    422: {"model": ErrorBody, "description": "A name or version that breaks the naming rule."},
}


@router.get(
    "/{name}/versions/{version}/figures/{figure}.png",
    response_class=Response,
    responses=_FIGURE,
    summary="A picture of a version: training curves, confusion matrix, latent map, ...",
)
def get_figure(
    name: str,
    version: str,
    figure: str,
    server: ServerDep,
    if_none_match: Annotated[
        str | None, Header(description="ETags already held: a 304 if one is this figure's.")
    ] = None,
) -> Response:
    """`GET /models` lists each version's `figures`; this serves one of them by name."""
    stored = _version(server, name, version)
    figures = stored.metadata.get("figures") or []
    digest = stored.metadata["files"].get(figure_file(figure))
    if figure not in figures or digest is None:
        listed = f"its figures are: {', '.join(figures)}" if figures else "it has no figures"
        missing = f"{name} v{stored.version} has no figure {figure!r}; {listed}"
        raise HTTPException(status.HTTP_404_NOT_FOUND, missing)
    etag = f'"{digest.removeprefix("sha256:")}"'
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE}
    if if_none_match is not None and names_etag(if_none_match, etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    content = stored.file(figure_file(figure)).read_bytes()
    if f"sha256:{hashlib.sha256(content).hexdigest()}" != digest:
        altered = f"corrupt version: {name} v{stored.version}'s {figure} does not match its digest"
        raise HTTPException(status.HTTP_409_CONFLICT, altered)
    return Response(content, media_type="image/png", headers=headers)


def names_etag(if_none_match: str, etag: str) -> bool:
    """Whether an `If-None-Match` header names `etag` (weakly, as RFC 9110 says for GET)."""
    held = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in held or etag in held


def _version(server: ModelServer, name: str, version: str) -> Version:
    """The version, unverified (the figure is checked on its own); a 404 naming the
    versions there are when it does not exist."""
    with store_errors():
        known_name(server, name)
        try:
            return server.store.get(name, version, verify=False)
        except NotFound as error:
            numbers = [str(stored.version) for stored in server.store.versions(name)]
            there = f"its versions are: {', '.join(numbers)}" if numbers else "it has none"
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"{error}; {there}") from None
