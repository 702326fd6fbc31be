"""The versioned artifact store: immutable integer versions and an `active` alias per model.

Layout::

    ROOT/<name>/<version>/model.keras      the Keras model (training, evaluation)
    ROOT/<name>/<version>/model.tflite     the LiteRT export the API serves
    ROOT/<name>/<version>/figures/*.png    pictures of the version (models.figures)
    ROOT/<name>/<version>/metadata.json    params, metrics, lineage, file digests, ...
    ROOT/<name>/active                     the active version's number

A version is written into a staging folder under ROOT and renamed to the next
free integer in one `rename(2)`: nobody sees a half-written version, and two
publishers racing for a number cannot both win it (renaming onto a non-empty
folder fails, and the loser retries with the next number). The alias is
replaced the same way, so promotion and rollback are atomic.

No TensorFlow here: the API reads the store.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from models.artifacts.catalog import FIGURES_DIR, figure_file
from models.artifacts.names import is_valid_name
from models.artifacts.versions import (
    METADATA,
    check_deletable,
    check_kind,
    check_manifest,
    manifest,
    staged_files,
    validate_name,
    validate_version,
)

# The store's vocabulary lives in `versions`; these names are imported from here as well.
from models.artifacts.versions import Conflict as Conflict
from models.artifacts.versions import CorruptVersion as CorruptVersion
from models.artifacts.versions import InvalidName as InvalidName
from models.artifacts.versions import NotFound as NotFound
from models.artifacts.versions import RegistryError as RegistryError
from models.artifacts.versions import StoreUnavailable as StoreUnavailable
from models.artifacts.versions import Version as Version
from models.artifacts.versions import file_digest as file_digest
from models.kinds import recorded_kind

logger = logging.getLogger(__name__)

ALIAS = "active"
STAGING_PREFIX = ".staging-"
TRASH_PREFIX = ".trash-"
_MAX_PUBLISH_ATTEMPTS = 1000


class StoreQueries:
    """What every store answers from its own `names`, `versions`, `get` and `active_version`."""

    def resolve(self, name: str, version: int | str = ALIAS, *, verify: bool = True) -> Version:
        """A version by number or by the alias `active`."""
        if version == ALIAS:
            number = self.active_version(name)
            if number is None:
                raise NotFound(f"model {name!r} has no active version")
            return self.get(name, number, verify=verify)
        return self.get(name, version, verify=verify)

    def dependants(self, name: str, version: int) -> list[Version]:
        """Versions of any model whose lineage names `name` at `version`."""
        return [
            other
            for other_name in self.names()
            for other in self.versions(other_name)
            if other.lineage.get(name) == version
        ]


class ArtifactStore(StoreQueries):
    """Versioned model artifacts under one root folder."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    # Reading -----------------------------------------------------------------------------

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and is_valid_name(p.name))

    def kind_of(self, name: str) -> str | None:
        """The kind every version of `name` records (None: the name has no version yet).

        Versions published before kinds were recorded belong to a name that was its kind.
        """
        for number in reversed(self._version_numbers(name)):
            try:
                metadata = self._read_metadata(self._model_dir(name) / str(number), name, number)
            except CorruptVersion:
                continue
            return recorded_kind(name, metadata)
        return None

    def versions(self, name: str) -> list[Version]:
        """Every readable version, oldest first; corrupt folders are logged and skipped."""
        found = []
        for number in self._version_numbers(name):
            try:
                found.append(self.get(name, number, verify=False))
            except CorruptVersion as error:
                logger.warning("skipping %s", error)
        return found

    def get(self, name: str, version: int | str, *, verify: bool = True) -> Version:
        """One version; with `verify`, every file is checked against its recorded digest."""
        number = validate_version(version)
        path = self._model_dir(name) / str(number)
        if not path.is_dir():
            raise NotFound(f"model {name!r} has no version {number}")
        metadata = self._read_metadata(path, name, number)
        for filename, expected in metadata["files"].items():
            file_path = path / filename
            if not file_path.is_file():
                raise CorruptVersion(f"{name} v{number}: {filename} is missing")
            if verify and file_digest(file_path) != expected:
                raise CorruptVersion(f"{name} v{number}: {filename} does not match its digest")
        return Version(name, number, path, metadata)

    def active_version(self, name: str) -> int | None:
        alias = self._model_dir(name) / ALIAS
        try:
            return validate_version(alias.read_text().strip())
        except FileNotFoundError:
            return None
        except InvalidName:
            logger.warning("ignoring malformed alias %s", alias)
            return None

    # Writing -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[Path]:
        """A private folder to write a new version's files into; removed if anything fails."""
        model_dir = self._model_dir(name)
        model_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=model_dir))
        staging.chmod(0o755)  # versions are readable by every process that serves them
        try:
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def publish(self, name: str, staging: Path, metadata: dict[str, Any]) -> Version:
        """Turn a staged folder into the next version, atomically. Returns the new version."""
        model_dir = self._model_dir(name)
        if staging.parent.resolve() != model_dir.resolve():
            raise RegistryError(f"{staging} is not a staging folder of {name!r}")
        files = staged_files(staging)
        check_kind(name, self.kind_of(name), metadata)
        number = max(self._version_numbers(name), default=0) + 1
        for _ in range(_MAX_PUBLISH_ATTEMPTS):
            record = manifest(metadata, name, number, files)
            _write_json(staging / METADATA, record)
            try:
                staging.rename(model_dir / str(number))
            except OSError:  # another publisher took this number first
                number += 1
                continue
            logger.info("published %s v%d", name, number)
            return Version(name, number, model_dir / str(number), record)
        raise RegistryError(f"could not find a free version number for {name!r}")

    def activate(self, name: str, version: int | str) -> Version:
        """Point the `active` alias at `version` (promotion or rollback), atomically."""
        target = self.get(name, version)
        alias = self._model_dir(name) / ALIAS
        temporary = alias.with_name(f"{STAGING_PREFIX}{ALIAS}-{os.getpid()}-{time.time_ns()}")
        temporary.write_text(f"{target.version}\n")
        os.replace(temporary, alias)
        logger.info("activated %s v%d", name, target.version)
        return target

    def delete(self, name: str, version: int | str) -> None:
        """Remove a version that is neither active nor in any other version's lineage."""
        number = validate_version(version)
        if not (self._model_dir(name) / str(number)).is_dir():
            raise NotFound(f"model {name!r} has no version {number}")
        check_deletable(name, number, self.active_version(name), self.dependants(name, number))
        path = self._model_dir(name) / str(number)
        trash = path.with_name(f"{TRASH_PREFIX}{number}-{time.time_ns()}")
        path.rename(trash)
        shutil.rmtree(trash, ignore_errors=True)

    def replace_figures(
        self, name: str, version: int | str, rendered: Path, figures: list[str]
    ) -> Version:
        """Give a published version the `figures` drawn into the folder `rendered`
        (`<figure>.png` each), in that order.

        Figures are drawn from a version, so they are the one part of it that may be made
        again (`python -m models.figures`); every other file is kept byte for byte, and the
        manifest lists the new figures and their digests. The folder is swapped for the
        amended copy with two renames: a maintenance step for a store that nobody is
        publishing to or serving from at that moment, such as the shipped starters.
        """
        current = self.get(name, version)
        missing = [figure for figure in figures if not (rendered / f"{figure}.png").is_file()]
        if missing:
            raise RegistryError(f"no {', '.join(missing)} in {rendered}")
        kept = {
            filename: digest
            for filename, digest in current.metadata["files"].items()
            if not filename.startswith(f"{FIGURES_DIR}/")
        }
        with self.stage(name) as staging:
            for filename in kept:
                (staging / filename).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(current.file(filename), staging / filename)
            (staging / FIGURES_DIR).mkdir()
            for figure in figures:
                shutil.copy2(rendered / f"{figure}.png", staging / figure_file(figure))
            files = staged_files(staging)
            if any(files[filename] != digest for filename, digest in kept.items()):
                raise CorruptVersion(f"{name} v{current.version}: a file changed while copying")
            record = {**current.metadata, "figures": figures, "files": files}
            _write_json(staging / METADATA, record)
            trash = current.path.with_name(f"{TRASH_PREFIX}{current.version}-{time.time_ns()}")
            current.path.rename(trash)
            staging.rename(current.path)
            shutil.rmtree(trash, ignore_errors=True)
        logger.info("replaced the figures of %s v%d", name, current.version)
        return Version(name, current.version, current.path, record)

    def seed(self, source: str | os.PathLike[str]) -> list[str]:
        """Copy every model of another store that this one lacks entirely, alias included.

        Used on first start to install the shipped starter models. Each model lands
        with one rename, like a publish; a model that already has versions is left alone.
        """
        source_store = ArtifactStore(source)
        seeded = []
        for name in source_store.names():
            if self._version_numbers(name):
                continue
            versions = source_store.versions(name)
            if not versions:
                continue
            model_dir = self._model_dir(name)
            model_dir.mkdir(parents=True, exist_ok=True)
            for stored in versions:
                with self.stage(name) as staging:
                    shutil.copytree(stored.path, staging, dirs_exist_ok=True)
                    try:
                        staging.rename(model_dir / str(stored.version))
                    except OSError:  # someone published meanwhile: theirs wins
                        break
            active = source_store.active_version(name)
            if active is not None and self.active_version(name) is None:
                self.activate(name, active)
            seeded.append(name)
        return seeded

    def clean_staging(self, older_than_s: float = 3600.0) -> int:
        """Remove staging and trash folders left by crashed processes. Returns how many."""
        removed = 0
        cutoff = time.time() - older_than_s
        for name in self.names():
            for path in self._model_dir(name).iterdir():
                leftover = path.name.startswith((STAGING_PREFIX, TRASH_PREFIX))
                if leftover and path.stat().st_mtime < cutoff:
                    if path.is_dir():
                        shutil.rmtree(path, ignore_errors=True)
                    else:
                        path.unlink(missing_ok=True)
                    removed += 1
        return removed

    # Internals ---------------------------------------------------------------------------

    def _model_dir(self, name: str) -> Path:
        return self.root / validate_name(name)

    def _version_numbers(self, name: str) -> list[int]:
        model_dir = self._model_dir(name)
        if not model_dir.is_dir():
            return []
        return sorted(
            int(p.name)
            for p in model_dir.iterdir()
            if p.is_dir() and p.name.isdigit() and not p.name.startswith("0")
        )

    @staticmethod
    def _read_metadata(path: Path, name: str, number: int) -> dict[str, Any]:
        try:
            metadata = json.loads((path / METADATA).read_text())
        except FileNotFoundError as error:
            raise CorruptVersion(f"{name} v{number}: {METADATA} is missing") from error
        except (OSError, ValueError) as error:
            raise CorruptVersion(f"{name} v{number}: {METADATA} is unreadable ({error})") from error
        return check_manifest(metadata, name, number)


def _write_json(path: Path, record: dict[str, Any]) -> None:
    with path.open("w") as handle:
        json.dump(record, handle, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
