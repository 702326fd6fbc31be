"""Opening the artifact store a deployment names: a folder, or an S3 bucket and prefix."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Protocol

from models.artifacts.registry import ArtifactStore, Version
from models.settings import Settings


class Store(Protocol):
    """What the API, the worker and the pipeline use of a store, folder or S3."""

    def names(self) -> list[str]: ...

    def kind_of(self, name: str) -> str | None: ...

    def versions(self, name: str) -> list[Version]: ...

    def get(self, name: str, version: int | str, *, verify: bool = True) -> Version: ...

    def active_version(self, name: str) -> int | None: ...

    def resolve(self, name: str, version: int | str = ..., *, verify: bool = True) -> Version: ...

    def stage(self, name: str) -> contextlib.AbstractContextManager[Path]: ...

    def publish(self, name: str, staging: Path, metadata: dict[str, Any]) -> Version: ...

    def activate(self, name: str, version: int | str) -> Version: ...

    def delete(self, name: str, version: int | str) -> None: ...

    def seed(self, source: str | os.PathLike[str]) -> list[str]: ...


def open_store(settings: Settings, location: str | os.PathLike[str] | None = None) -> Store:
    """The store at `location` (default: the settings'), folder or `s3://bucket/prefix`.

    S3 stores download versions into `settings.cache`; boto3 is imported only for them.
    """
    where = os.fspath(location) if location is not None else settings.artifacts
    if isinstance(where, str) and where.startswith("s3://"):
        from models.artifacts.s3_store import S3ArtifactStore

        return S3ArtifactStore(where, settings.cache)
    return ArtifactStore(Path(where))
