"""Where the API keeps the record of each job it accepted: the spec, when, and its id.

Records live beside the job results, so that every API replica sees every job:
in Redis when the result backend is Redis (production, compose), in a folder of
the state directory in the embedded mode (one host by construction). A record is
written only after the job's message reached the broker, so no listed job is a
phantom that no worker will ever receive.

Redis is reached with short timeouts and no retries: when it is down, a job
route learns so within a second and answers 503, instead of waiting out the
client's back-off. Inference never touches these records.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from models.settings import Settings

REDIS_TIMEOUT_S = 0.5
"""Connect and read timeout of every call to Redis from the job routes."""


class UnknownJob(LookupError):
    pass


class BrokerUnavailable(RuntimeError):
    """The broker or result backend cannot be reached; jobs cannot be sent or followed."""


class JobRecords(Protocol):
    def add(self, record: dict[str, Any]) -> None: ...

    def get(self, job_id: str) -> dict[str, Any]: ...

    def page(self, limit: int, offset: int = 0) -> list[dict[str, Any]]: ...

    def check(self) -> None: ...

    def close(self) -> None: ...


def is_job_id(job_id: str) -> bool:
    return len(job_id) == 32 and all(c in "0123456789abcdef" for c in job_id)


def _submitted_ms(record: dict[str, Any]) -> float:
    return datetime.fromisoformat(record["submitted"]).timestamp() * 1000.0


class FileJobRecords:
    """One JSON file per job in a folder: the embedded mode's records."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)

    def add(self, record: dict[str, Any]) -> None:
        path = self.folder / f"{record['id']}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(record))
        os.replace(temporary, path)

    def get(self, job_id: str) -> dict[str, Any]:
        if not is_job_id(job_id):
            raise UnknownJob(job_id)
        try:
            return json.loads((self.folder / f"{job_id}.json").read_text())
        except FileNotFoundError:
            raise UnknownJob(job_id) from None

    def page(self, limit: int, offset: int = 0) -> list[dict[str, Any]]:
        records = []
        for path in self.folder.glob("*.json"):
            try:
                records.append(json.loads(path.read_text()))
            except (FileNotFoundError, json.JSONDecodeError):
                continue  # removed or being replaced this instant
        records.sort(key=lambda record: (record["submitted"], record["id"]), reverse=True)
        return records[offset : offset + limit]

    def check(self) -> None:
        """Files are always there."""

    def close(self) -> None:
        pass


class RedisJobRecords:
    """Records as Redis strings, with a sorted set of ids by submission time for listing.

    Keys expire with the job results (`ttl_s`); ids whose record has expired are
    dropped from the index as listings meet them.
    """

    def __init__(self, url: str, ttl_s: int, prefix: str = "handcalc:jobs") -> None:
        self.url = url
        self.ttl_s = ttl_s
        self.index_key = f"{prefix}:index"
        self.record_prefix = f"{prefix}:record:"
        self.client = redis.Redis.from_url(
            url,
            socket_connect_timeout=REDIS_TIMEOUT_S,
            socket_timeout=REDIS_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),
            retry_on_timeout=False,
        )

    def add(self, record: dict[str, Any]) -> None:
        with self._reaching():
            pipeline = self.client.pipeline(transaction=True)
            pipeline.set(self.record_prefix + record["id"], json.dumps(record), ex=self.ttl_s)
            pipeline.zadd(self.index_key, {record["id"]: _submitted_ms(record)})
            pipeline.execute()

    def get(self, job_id: str) -> dict[str, Any]:
        if not is_job_id(job_id):
            raise UnknownJob(job_id)
        with self._reaching():
            raw = self.client.get(self.record_prefix + job_id)
        if raw is None:
            raise UnknownJob(job_id)
        return json.loads(raw)

    def page(self, limit: int, offset: int = 0) -> list[dict[str, Any]]:
        with self._reaching():
            newest = self.client.zrevrange(self.index_key, offset, offset + limit - 1)
            ids = [job_id.decode() for job_id in newest]
            if not ids:
                return []
            raws = self.client.mget([self.record_prefix + job_id for job_id in ids])
            expired = [job_id for job_id, raw in zip(ids, raws, strict=True) if raw is None]
            if expired:
                self.client.zrem(self.index_key, *expired)
        return [json.loads(raw) for raw in raws if raw is not None]

    def check(self) -> None:
        with self._reaching():
            self.client.ping()

    def close(self) -> None:
        self.client.close()

    @contextmanager
    def _reaching(self) -> Iterator[None]:
        """Redis' connection failures, as `BrokerUnavailable` naming the server."""
        try:
            yield
        except (redis.ConnectionError, redis.TimeoutError) as error:
            raise unreachable(self.url, error) from error


def unreachable(url: str, error: BaseException) -> BrokerUnavailable:
    return BrokerUnavailable(
        f"the job broker at {redact(url)} cannot be reached ({error}); "
        "inference still works, and jobs will once it is back"
    )


def redact(url: str) -> str:
    """`url` without its password, to name a server in an error."""
    scheme, separator, rest = url.partition("://")
    if "@" not in rest:
        return url
    credentials, _at, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}{separator}{user + ':***@' if user else '***@'}{host}"


def is_redis(url: str | None) -> bool:
    return bool(url) and url.split("://", 1)[0] in ("redis", "rediss")


def job_records(settings: Settings) -> JobRecords:
    """The records for this deployment: Redis beside Redis results, else files."""
    config = settings.celery_config()
    backend = config["result_backend"]
    if is_redis(backend):
        return RedisJobRecords(backend, ttl_s=config["result_expires"])
    return FileJobRecords(settings.state_dir.absolute() / "jobs")
