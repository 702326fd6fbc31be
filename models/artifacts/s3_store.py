"""The versioned artifact store on S3 or any S3-compatible server (MinIO, ...).

Same rules as the folder store (`models.artifacts.registry`), kept with S3's own primitives::

    PREFIX/<name>/blobs/<sha256 hex>         every file, stored once by its content
    PREFIX/<name>/versions/<version>.json    the manifest: metadata and each file's digest
    PREFIX/<name>/active                     the active version's number

A version becomes visible in one step: its files are uploaded first, under keys no
manifest names yet, and its manifest is then written with a create-only conditional
PUT (`If-None-Match: *`). Two publishers racing for a number cannot both create the
manifest; the loser takes the next number. The alias moves by compare-and-swap
(`If-Match` with the ETag read), so two promotions never interleave into a torn one.

Readers download a version once into a local cache folder, check every file against
its digest, and rename the folder into place: a `Version` always has a local path, as
with the folder store. Polling the alias is a conditional GET that costs a 304 while
nothing moves. Credentials and the endpoint come from the standard AWS settings
(`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT_URL` for MinIO, ...).

No TensorFlow here: the API reads the store.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from models.artifacts.names import is_valid_name
from models.artifacts.registry import ALIAS, STAGING_PREFIX, StoreQueries
from models.artifacts.versions import (
    METADATA,
    CorruptVersion,
    NotFound,
    RegistryError,
    StoreUnavailable,
    Version,
    check_deletable,
    check_kind,
    check_manifest,
    file_digest,
    manifest,
    staged_files,
    validate_name,
    validate_version,
)
from models.kinds import recorded_kind

logger = logging.getLogger(__name__)

_MAX_PUBLISH_ATTEMPTS = 1000
_COMPLETE = ".complete"


def split_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> ("bucket", "some/prefix")."""
    if not url.startswith("s3://"):
        raise ValueError(f"not an s3:// URL: {url!r}")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {url!r}")
    return bucket, prefix.strip("/")


class S3ArtifactStore(StoreQueries):
    """Versioned model artifacts in one bucket under one prefix, cached on local disk."""

    def __init__(self, url: str, cache_dir: str | os.PathLike[str], client: Any = None) -> None:
        self.url = url
        self.bucket, self.prefix = split_url(url)
        self.root = Path(cache_dir)  # where versions are downloaded to; staging lives here too
        self.client = client or boto3.client(
            "s3",
            # a store that is down is reported in seconds (the API keeps serving meanwhile)
            config=Config(connect_timeout=2, read_timeout=30, retries={"max_attempts": 3}),
        )
        self._aliases: dict[str, tuple[str, int | None]] = {}  # name -> (ETag, version)

    # Reading -----------------------------------------------------------------------------

    def names(self) -> list[str]:
        found = []
        for page in self._pages(self._key(""), delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                name = common["Prefix"][len(self._key("")) :].rstrip("/")
                if is_valid_name(name):
                    found.append(name)
        return sorted(found)

    def kind_of(self, name: str) -> str | None:
        for number in reversed(self._version_numbers(name)):
            try:
                return recorded_kind(name, self._manifest(name, number))
            except CorruptVersion:
                continue
        return None

    def versions(self, name: str) -> list[Version]:
        """Every readable version's metadata, oldest first (files are fetched by `get`)."""
        found = []
        for number in self._version_numbers(name):
            try:
                found.append(
                    Version(name, number, self._cached(name, number), self._manifest(name, number))
                )
            except CorruptVersion as error:
                logger.warning("skipping %s", error)
        return found

    def get(self, name: str, version: int | str, *, verify: bool = True) -> Version:
        """One version, downloaded (once) and checked against its digests."""
        number = validate_version(version)
        metadata = self._manifest(name, number)
        path = self._cached(name, number)
        if not (path / _COMPLETE).is_file():
            self._download(name, number, metadata, path)
        elif verify:
            for filename, expected in metadata["files"].items():
                if not (path / filename).is_file() or file_digest(path / filename) != expected:
                    shutil.rmtree(path, ignore_errors=True)  # fetched again next time
                    raise CorruptVersion(f"{name} v{number}: cached {filename} was altered")
        return Version(name, number, path, metadata)

    def active_version(self, name: str) -> int | None:
        """The alias, with a conditional GET: a 304 while it has not moved."""
        key = self._key(f"{validate_name(name)}/{ALIAS}")
        etag, known = self._aliases.get(name, ("", None))
        try:
            arguments = {"IfNoneMatch": etag} if etag else {}
            response = self._call("get_object", Bucket=self.bucket, Key=key, **arguments)
        except _NotModified:
            return known
        except _Missing:
            self._aliases.pop(name, None)
            return None
        text = response["Body"].read().decode().strip()
        try:
            number = validate_version(text)
        except RegistryError:
            logger.warning("ignoring malformed alias %s/%s", self.url, key)
            number = None
        self._aliases[name] = (response["ETag"], number)
        return number

    # Writing -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[Path]:
        """A private local folder to write a new version's files into."""
        folder = self.root / validate_name(name)
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=folder))
        try:
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def publish(self, name: str, staging: Path, metadata: dict[str, Any]) -> Version:
        """Upload the staged files, then claim the next number with a create-only manifest."""
        files = staged_files(staging)
        check_kind(name, self.kind_of(name), metadata)
        for filename, digest in files.items():
            self._call(
                "upload_file", str(staging / filename), self.bucket, self._blob(name, digest)
            )
        number = max(self._version_numbers(name), default=0) + 1
        for _ in range(_MAX_PUBLISH_ATTEMPTS):
            record = manifest(metadata, name, number, files)
            if self._create(self._manifest_key(name, number), json.dumps(record, sort_keys=True)):
                logger.info("published %s v%d to %s", name, number, self.url)
                return Version(name, number, self._cached(name, number), record)
            number += 1  # another publisher took this number first
        raise RegistryError(f"could not find a free version number for {name!r}")

    def activate(self, name: str, version: int | str) -> Version:
        """Point the alias at `version` by compare-and-swap on its ETag."""
        target = self.get(name, version)
        key = self._key(f"{validate_name(name)}/{ALIAS}")
        for _ in range(_MAX_PUBLISH_ATTEMPTS):
            try:
                current = self._call("head_object", Bucket=self.bucket, Key=key)["ETag"]
                condition = {"IfMatch": current}
            except _Missing:
                condition = {"IfNoneMatch": "*"}
            try:
                self._call(
                    "put_object",
                    Bucket=self.bucket,
                    Key=key,
                    Body=f"{target.version}\n".encode(),
                    **condition,
                )
            except _Precondition:
                continue  # it moved between our read and our write: read it again
            logger.info("activated %s v%d in %s", name, target.version, self.url)
            return target
        raise RegistryError(f"could not move the alias of {name!r}: it keeps changing")

    def delete(self, name: str, version: int | str) -> None:
        """Remove a version (its manifest, in one step), then the files no version uses."""
        number = validate_version(version)
        if number not in self._version_numbers(name):
            raise NotFound(f"model {name!r} has no version {number}")
        check_deletable(name, number, self.active_version(name), self.dependants(name, number))
        self._call("delete_object", Bucket=self.bucket, Key=self._manifest_key(name, number))
        shutil.rmtree(self._cached(name, number), ignore_errors=True)
        in_use = {d for other in self.versions(name) for d in other.metadata["files"].values()}
        for page in self._pages(self._key(f"{name}/blobs/")):
            for item in page.get("Contents", []):
                digest = "sha256:" + item["Key"].rsplit("/", 1)[1]
                if digest not in in_use:
                    self._call("delete_object", Bucket=self.bucket, Key=item["Key"])

    def seed(self, source: str | os.PathLike[str]) -> list[str]:
        """Upload every model of a local store that this one lacks entirely, alias included."""
        from models.artifacts.registry import ArtifactStore

        source_store = ArtifactStore(source)
        seeded = []
        for name in source_store.names():
            if self._version_numbers(name):
                continue
            for stored in source_store.versions(name):
                for filename, digest in stored.metadata["files"].items():
                    self._call("upload_file", str(stored.file(filename)), self.bucket,
                               self._blob(name, digest))  # fmt: skip
                key = self._manifest_key(name, stored.version)
                if not self._create(key, json.dumps(stored.metadata, sort_keys=True)):
                    break  # someone published meanwhile: theirs wins
            active = source_store.active_version(name)
            if active is not None and self.active_version(name) is None:
                self.activate(name, active)
            seeded.append(name)
        return seeded

    def clean_staging(self, older_than_s: float = 3600.0) -> int:
        """Staging lives on local disk, removed by `stage` itself; nothing to clean remotely."""
        return 0

    # Internals ---------------------------------------------------------------------------

    def _key(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix else path

    def _blob(self, name: str, digest: str) -> str:
        return self._key(f"{validate_name(name)}/blobs/{digest.removeprefix('sha256:')}")

    def _manifest_key(self, name: str, number: int) -> str:
        return self._key(f"{validate_name(name)}/versions/{number}.json")

    def _cached(self, name: str, number: int) -> Path:
        return self.root / validate_name(name) / str(number)

    def _version_numbers(self, name: str) -> list[int]:
        folder = self._key(f"{validate_name(name)}/versions/")
        numbers = []
        for page in self._pages(folder):
            for item in page.get("Contents", []):
                stem = item["Key"][len(folder) :].removesuffix(".json")
                if stem.isdigit() and not stem.startswith("0"):
                    numbers.append(int(stem))
        return sorted(numbers)

    def _manifest(self, name: str, number: int) -> dict[str, Any]:
        try:
            response = self._call(
                "get_object", Bucket=self.bucket, Key=self._manifest_key(name, number)
            )
        except _Missing:
            raise NotFound(f"model {name!r} has no version {number}") from None
        try:
            metadata = json.loads(response["Body"].read())
        except ValueError as error:
            raise CorruptVersion(
                f"{name} v{number}: the manifest is unreadable ({error})"
            ) from error
        return check_manifest(metadata, name, number)

    def _download(self, name: str, number: int, metadata: dict[str, Any], path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=path.parent))
        try:
            for filename, expected in metadata["files"].items():
                (partial / filename).parent.mkdir(parents=True, exist_ok=True)
                try:
                    self._call("download_file", self.bucket, self._blob(name, expected),
                               str(partial / filename))  # fmt: skip
                except _Missing:
                    raise CorruptVersion(f"{name} v{number}: {filename} is missing") from None
                if file_digest(partial / filename) != expected:
                    raise CorruptVersion(f"{name} v{number}: {filename} does not match its digest")
            (partial / METADATA).write_text(json.dumps(metadata, indent=2, sort_keys=True))
            (partial / _COMPLETE).touch()
            with contextlib.suppress(OSError):  # another reader finished first: as good
                partial.rename(path)
        finally:
            shutil.rmtree(partial, ignore_errors=True)

    def _create(self, key: str, body: str) -> bool:
        """Write `key` only if it does not exist yet; False if it does."""
        try:
            self._call("put_object", Bucket=self.bucket, Key=key, Body=body.encode(),
                       IfNoneMatch="*")  # fmt: skip
        except _Precondition:
            return False
        return True

    def _pages(self, prefix: str, delimiter: str | None = None) -> Iterator[dict]:
        arguments = {"Bucket": self.bucket, "Prefix": prefix}
        if delimiter:
            arguments["Delimiter"] = delimiter
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            yield from paginator.paginate(**arguments)
        except (BotoCoreError, ClientError) as error:
            raise StoreUnavailable(f"cannot list {self.url}: {error}") from error

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, method)(*args, **kwargs)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("304", "NotModified") or status == 304:
                raise _NotModified from None
            if code in ("404", "NoSuchKey", "NotFound") or status == 404:
                raise _Missing from None
            if code in ("412", "PreconditionFailed") or status == 412:
                raise _Precondition from None
            raise StoreUnavailable(f"{self.url}: {method} failed ({error})") from error
        except BotoCoreError as error:
            raise StoreUnavailable(f"{self.url} cannot be reached ({error})") from error


class _NotModified(Exception):
    pass


class _Missing(Exception):
    pass


class _Precondition(Exception):
    pass
