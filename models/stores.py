"""Opening the artifact store a deployment names: a folder, or an S3 bucket and prefix."""

from __future__ import annotations

import os
from pathlib import Path

from models.registry import ArtifactStore
from models.settings import Settings


def open_store(settings: Settings, location: str | os.PathLike[str] | None = None):
    """The store at `location` (default: the settings'), folder or `s3://bucket/prefix`.

    S3 stores download versions into `settings.cache`; boto3 is imported only for them.
    """
    where = os.fspath(location) if location is not None else settings.artifacts
    if isinstance(where, str) and where.startswith("s3://"):
        from models.s3_store import S3ArtifactStore

        return S3ArtifactStore(where, settings.cache)
    return ArtifactStore(Path(where))
