"""What the artifact store holds and what this process serves; promotion and deletion."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, HTTPException, Response, status

from app.api.deps import Authorized, ServerDep
from app.api.errors import PROTECTED, ErrorBody
from app.api.schemas import ModelInfo, VersionInfo
from app.serving.server import ModelServer
from models.artifacts.registry import Conflict, CorruptVersion, InvalidName, NotFound

router = APIRouter(prefix="/models", tags=["models"])


def _info(server: ModelServer, name: str) -> ModelInfo:
    return ModelInfo(
        name=name,
        kind=server.store.kind_of(name),
        active=server.store.active_version(name),
        serving=server.status().get(name),
        versions=[
            VersionInfo(
                version=stored.version,
                created=stored.metadata.get("created"),
                metrics=stored.metadata.get("metrics", {}),
                lineage=stored.lineage,
                params=stored.metadata.get("params", {}),
                figures=stored.metadata.get("figures") or [],
            )
            for stored in server.store.versions(name)
        ],
    )


def known_name(server: ModelServer, name: str) -> str:
    names = server.store.names()
    if name not in names:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no model named {name!r}; the names are: {', '.join(names)}"
        )
    return name


_MANAGED = {
    **PROTECTED,
    404: {"model": ErrorBody, "description": "No such name or version."},
    409: {"model": ErrorBody, "description": "The store refuses: active, in a lineage, corrupt."},
    422: {"model": ErrorBody, "description": "A name or version that breaks the naming rule."},
}


@router.get(
    "", response_model=list[ModelInfo], summary="Every registered name, its versions and metrics"
)
def list_models(server: ServerDep) -> list[ModelInfo]:
    names = sorted(set(server.store.names()) | set(server.status()))
    return [_info(server, name) for name in names]


@router.post(
    "/{name}/versions/{version}/activate",
    response_model=ModelInfo,
    dependencies=[Authorized],
    responses=_MANAGED,
    summary="Promote or roll back: make this version the active one",
)
def activate(name: str, version: str, server: ServerDep) -> ModelInfo:
    """Moves the model's `active` alias; this API serves the version within seconds."""
    with store_errors():
        server.store.activate(known_name(server, name), version)
    return _info(server, name)


@router.delete(
    "/{name}/versions/{version}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Authorized],
    responses=_MANAGED,
    summary="Delete a version that is neither active nor in another version's lineage",
)
def delete_version(name: str, version: str, server: ServerDep) -> Response:
    with store_errors():
        server.store.delete(known_name(server, name), version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@contextmanager
def store_errors() -> Iterator[None]:
    """The store's refusals as HTTP errors that keep its explanation."""
    try:
        yield
    except InvalidName as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
    except NotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    except CorruptVersion as error:
        raise HTTPException(status.HTTP_409_CONFLICT, f"corrupt version: {error}") from None
    except Conflict as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
