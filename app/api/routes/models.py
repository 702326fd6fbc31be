"""What the artifact store holds and what this process serves."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ServerDep
from app.api.schemas import ModelInfo, VersionInfo
from models.catalog import MODEL_NAMES

router = APIRouter(prefix="/models", tags=["models"])


@router.get("", response_model=list[ModelInfo], summary="Every model, its versions and metrics")
def list_models(server: ServerDep) -> list[ModelInfo]:
    serving = server.status()
    return [
        ModelInfo(
            name=name,
            active=server.store.active_version(name),
            serving=serving[name],
            versions=[
                VersionInfo(
                    version=stored.version,
                    created=stored.metadata.get("created"),
                    metrics=stored.metadata.get("metrics", {}),
                    lineage=stored.lineage,
                    params=stored.metadata.get("params", {}),
                )
                for stored in server.store.versions(name)
            ],
        )
        for name in MODEL_NAMES
    ]
