"""Which model versions the API serves, and swapping them when the store changes.

A `ModelServer` loads the active version of every registered name in the artifact
store and keeps checking the `active` aliases (names that appear later included).
When one moves (a job published a new version, or someone rolled back), the new
version is loaded and warmed up in the background, then swapped in with one
assignment: requests in flight finish on the version they started with, and later
ones get the new one. A version that fails to load is logged and the previous one
keeps serving.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.metrics import MODEL_LOADS, SERVED_VERSION, BatchMetrics
from app.serving.batching import MicroBatcher
from models.artifacts.catalog import LITERT_FILE
from models.artifacts.registry import RegistryError, StoreUnavailable
from models.artifacts.stores import Store
from models.kinds import KINDS, LEGACY_KINDS, Kind, recorded_kind
from models.logs import annotate
from models.runtime import LiteModel

logger = logging.getLogger(__name__)

_RETRY_FAILED_AFTER_S = 30.0
_MAX_INFERENCE_THREADS = 32


class ModelUnavailable(Exception):
    """The model has no loadable version; the message says how to get one."""


class UnknownModel(LookupError):
    """No registered name of that spelling; the message lists the names there are."""


class WrongKind(ValueError):
    """The name exists, but its kind cannot answer the route; the message says why."""


@dataclass(frozen=True, eq=False)
class Served:
    """One loaded version, ready to run."""

    name: str
    version: int
    kind: Kind
    model: LiteModel
    metadata: dict[str, Any]
    batcher: MicroBatcher
    """Gathers concurrent requests for this model into shared calls; serialises all calls."""

    def infer(self, signature: str, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Run a batch of inputs through a signature now (from any thread)."""
        return self.batcher(signature, self.kind.signatures[signature][0], rows)

    async def infer_async(self, signature: str, rows: np.ndarray) -> dict[str, np.ndarray]:
        """`infer` for coroutines, sharing the model call with concurrent requests."""
        return await self.batcher.run_async(signature, self.kind.signatures[signature][0], rows)

    @property
    def encoder_version(self) -> int | None:
        """For a head: the autoencoder version whose encoder its reader started from."""
        return self.metadata.get("lineage", {}).get("autoencoder")


@dataclass
class _Failure:
    version: int
    error: str
    at: float = field(default_factory=time.monotonic)


class ModelServer:
    """Loads, serves and hot-swaps the active version of every model."""

    def __init__(
        self,
        store: Store,
        *,
        threads: int = 2,
        interval_s: float = 0.5,
        max_batch: int = 64,
        max_wait_s: float = 0.002,
        in_progress: Callable[[], int] | None = None,
    ) -> None:
        self.store = store
        self._in_progress = in_progress
        self._threads = threads
        self._max_batch = max_batch
        self._max_wait_s = max_wait_s
        self._interval_s = interval_s
        self._served: dict[str, Served] = {}
        self._failures: dict[str, _Failure] = {}
        self._store_down = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._refresh_lock = threading.Lock()
        # where model calls run, off the event loop: each batcher keeps a single call in
        # flight, so a thread per served name is the most that can be busy
        self._executor = ThreadPoolExecutor(_MAX_INFERENCE_THREADS, thread_name_prefix="inference")

    # Life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Load what is active now, then watch the store in a background thread."""
        self.refresh()
        self._thread = threading.Thread(target=self._watch, name="model-reloader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _watch(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.refresh()
            except Exception:  # never let the watcher die
                logger.exception("model refresh failed")

    # Loading ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Bring every registered name in line with its `active` alias."""
        with self._refresh_lock:
            try:
                names = self.store.names()
            except StoreUnavailable as error:
                if not self._store_down:
                    logger.warning("artifact store unreachable, serving what is loaded: %s", error)
                self._store_down = True
                return
            if self._store_down:
                logger.info("the artifact store is reachable again")
                self._store_down = False
            for name in names:
                try:
                    wanted = self.store.active_version(name)
                except RegistryError:
                    continue
                current = self._served.get(name)
                if wanted is None or (current and current.version == wanted):
                    continue
                failure = self._failures.get(name)
                recent = failure and time.monotonic() - failure.at < _RETRY_FAILED_AFTER_S
                if failure and failure.version == wanted and recent:
                    continue
                try:
                    loaded = self._load(name, wanted)
                except Exception as error:
                    MODEL_LOADS.labels(name, "failed").inc()
                    self._failures[name] = _Failure(wanted, f"{type(error).__name__}: {error}")
                    logger.error(
                        "cannot load %s v%d, still serving %s: %s",
                        name,
                        wanted,
                        f"v{current.version}" if current else "nothing",
                        error,
                    )
                    continue
                self._served[name] = loaded  # the swap: one reference assignment
                self._failures.pop(name, None)
                MODEL_LOADS.labels(name, "loaded").inc()
                SERVED_VERSION.labels(name).set(wanted)
                logger.info("serving %s v%d", name, wanted)

    def _load(self, name: str, version: int) -> Served:
        stored = self.store.get(name, version)  # checks every file's digest
        kind_name = recorded_kind(name, stored.metadata)
        if kind_name not in KINDS:
            raise RegistryError(
                f"{name} v{version} is of a kind this API does not know: {kind_name}"
            )
        kind = KINDS[kind_name]
        model = LiteModel(stored.file(LITERT_FILE), num_threads=self._threads)
        _check_signatures(name, version, kind, model)
        batcher = MicroBatcher(
            model.run,
            max_batch=self._max_batch,
            max_wait_s=self._max_wait_s,
            executor=self._executor,
            observer=BatchMetrics(name),
            in_progress=self._in_progress,
        )
        served = Served(name, version, kind, model, stored.metadata, batcher)
        _warm_up(served)
        return served

    # Serving ---------------------------------------------------------------------------

    def get(self, name: str) -> Served:
        served = self._served.get(name)
        if served is None:
            failure = self._failures.get(name)
            if failure is not None:
                raise ModelUnavailable(
                    f"model '{name}' v{failure.version} is active but cannot be loaded "
                    f"({failure.error}); activate another version"
                )
            raise ModelUnavailable(
                f"model '{name}' has not been trained yet: train it with "
                f"`python -m models.train {name}` or POST /jobs, then retry"
            )
        annotate(model=name, version=served.version)  # on the request's later log lines
        return served

    def loaded(self, name: str) -> Served | None:
        """The version `name` serves now, of whatever kind; None when nothing is loaded."""
        return self._served.get(name)

    def failure(self, name: str) -> str | None:
        """Why the active version of `name` could not be loaded, if it could not."""
        failure = self._failures.get(name)
        return f"v{failure.version}: {failure.error}" if failure else None

    def for_route(self, route: str, name: str) -> Served:
        """The version `name` serves, checked to be of a kind that answers `route`."""
        served = self._served.get(name)
        kind = served.kind if served else self._stored_kind(name)
        if kind is None and name not in self._failures and name not in LEGACY_KINDS:
            answering = sorted(n for n, s in self._served.items() if route in s.kind.serves)
            raise UnknownModel(
                f"no model named {name!r}; the models that answer /{route} are: "
                f"{', '.join(answering) or 'none yet'} (GET /models lists every name)"
            )
        if kind is not None and route not in kind.serves:
            routes = ", ".join(f"/{r}" for r in sorted(kind.serves))
            raise WrongKind(
                f"model {name!r} is of kind {kind.name}, which cannot answer /{route}; "
                f"it answers {routes}"
            )
        return self.get(name)

    def _stored_kind(self, name: str) -> Kind | None:
        try:
            kind_name = self.store.kind_of(name)
        except RegistryError:
            return None
        return KINDS.get(kind_name) if kind_name else None

    def status(self) -> dict[str, int | None]:
        """The version each name serves: every name loaded or failed, and the names the
        routes default to (None while they have nothing to serve)."""
        names = set(self._served) | set(self._failures) | set(LEGACY_KINDS)
        return {
            name: (s.version if (s := self._served.get(name)) else None) for name in sorted(names)
        }

    def failures(self) -> dict[str, str]:
        return {name: f"v{f.version}: {f.error}" for name, f in self._failures.items()}


def _check_signatures(name: str, version: int, kind: Kind, model: LiteModel) -> None:
    """Refuse an export whose signatures are not the ones this API calls (an older format)."""
    for signature, (input_name, outputs) in kind.signatures.items():
        found = model.signatures.get(signature) or {}
        if found.get("inputs") != [input_name] or set(found.get("outputs", ())) != set(outputs):
            raise RegistryError(
                f"{name} v{version} does not have the signature {signature}({input_name}) -> "
                f"{', '.join(outputs)} (it has {model.signatures}); it was exported by another "
                f"version of handcalc: train {name} again"
            )


def _warm_up(served: Served) -> None:
    """Run every signature once, so the first real request pays no set-up cost."""
    for signature, (input_name, _outputs) in served.kind.signatures.items():
        if input_name == "image":
            batch = np.zeros((1, 28, 28), np.float32)
        elif input_name == "latent":
            batch = np.zeros((1, served.metadata["latent"]["length"]), np.float32)
        else:
            batch = np.zeros((1, 2, 28, 28), np.float32)
        served.infer(signature, batch)
