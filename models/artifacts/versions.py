"""What every artifact store shares: its errors, the rules for names and versions, and the
manifest a published version records (its files and their digests).

The folder store (`registry`) and the S3 store (`s3_store`) both speak in these terms, so
a version means the same thing wherever it is kept. No TensorFlow here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models.artifacts.names import InvalidModelName, check_name

METADATA = "metadata.json"


class RegistryError(Exception):
    """Base class of the store's errors."""


class InvalidName(RegistryError, InvalidModelName):
    """A model name or version that is not allowed (bad characters, path tricks)."""


class NotFound(RegistryError, LookupError):
    """No such model, version or alias."""


class CorruptVersion(RegistryError):
    """A version folder that is incomplete or whose files do not match their digests."""


class StoreUnavailable(RegistryError):
    """The store (an object store) cannot be reached or refused the credentials."""


class Conflict(RegistryError):
    """An operation the store's rules forbid, such as deleting a version in use."""


@dataclass(frozen=True)
class Version:
    name: str
    version: int
    path: Path
    metadata: dict[str, Any]

    def file(self, filename: str) -> Path:
        return self.path / filename

    @property
    def lineage(self) -> dict[str, int]:
        return dict(self.metadata.get("lineage") or {})


def validate_name(name: str) -> str:
    try:
        return check_name(name)
    except InvalidModelName as error:
        raise InvalidName(str(error)) from None


def validate_version(version: int | str) -> int:
    text = str(version)
    if not text.isdigit() or text.startswith("0") or len(text) > 9:
        raise InvalidName(f"invalid version {version!r}: versions are positive integers")
    return int(text)


def file_digest(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(chunk)
    return "sha256:" + hasher.hexdigest()


def staged_files(staging: Path) -> dict[str, str]:
    """Every file under a staging folder (sub-folders included, as `figures/x.png`) and its
    digest; the metadata file aside. RegistryError when there is none."""
    files = {
        path.relative_to(staging).as_posix(): file_digest(path)
        for path in sorted(staging.rglob("*"))
        if path.is_file() and path.relative_to(staging).as_posix() != METADATA
    }
    if not files:
        raise RegistryError("nothing to publish: the staging folder is empty")
    return files


def manifest(metadata: dict[str, Any], name: str, number: int, files: dict[str, str]) -> dict:
    """The metadata a published version records: the job's, plus what the store vouches for."""
    return {
        **metadata,
        "name": name,
        "version": number,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": files,
    }


def check_manifest(metadata: Any, name: str, number: int) -> dict[str, Any]:
    """`metadata` if it is the manifest of `name` v`number`, else CorruptVersion."""
    if not isinstance(metadata, dict) or not isinstance(metadata.get("files"), dict):
        raise CorruptVersion(f"{name} v{number}: {METADATA} lists no files")
    for filename in metadata["files"]:
        parts = str(filename).split("/")
        if any(part in ("", ".", "..") or "\\" in part for part in parts):
            raise CorruptVersion(f"{name} v{number}: {METADATA} lists a file outside it")
    if metadata.get("name") != name or metadata.get("version") != number:
        raise CorruptVersion(
            f"{name} v{number}: {METADATA} describes "
            f"{metadata.get('name')!r} v{metadata.get('version')!r}"
        )
    return metadata


def check_kind(name: str, existing: str | None, metadata: dict[str, Any]) -> None:
    """A name's kind never changes: Conflict if `metadata` records another."""
    if existing is not None and metadata.get("kind", existing) != existing:
        raise Conflict(
            f"model {name!r} is of kind {existing}; a {metadata['kind']} cannot be "
            "published under that name"
        )


def check_deletable(name: str, number: int, active: int | None, dependants: list) -> None:
    """Conflict unless `name` v`number` is neither active nor in another version's lineage."""
    if active == number:
        raise Conflict(f"{name} v{number} is the active version; activate another first")
    if dependants:
        listed = ", ".join(f"{v.name} v{v.version}" for v in dependants)
        raise Conflict(f"{name} v{number} is in the lineage of {listed}")
