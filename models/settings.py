"""Settings shared by the API and the workers, read from `HANDCALC_*` variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """What every handcalc process needs to know: data, artifacts, broker, job limits."""

    model_config = SettingsConfigDict(env_prefix="HANDCALC_", extra="ignore")

    state_dir: Path = Path("var")
    """Local state (artifact store, embedded broker, job journal) when nothing else is set."""

    artifact_root: str | None = None
    """The versioned artifact store: a folder, or `s3://bucket/prefix` on S3 or an
    S3-compatible server (credentials and endpoint from the standard AWS_* variables);
    defaults to the folder `<state_dir>/artifacts`."""

    artifact_cache: Path | None = None
    """Where versions from an S3 store are downloaded to; defaults to `<state_dir>/cache`."""

    data: Path | None = None
    """MNIST: a Keras-layout `mnist.npz` or a folder holding the four IDX files."""

    starter_dir: Path | None = Path(__file__).resolve().parents[1] / "starter"
    """Shipped starter models; an empty artifact store is seeded from them on first start."""

    broker_url: str | None = None
    """Celery broker, e.g. `redis://host:6379/0`; unset: a filesystem queue under state_dir."""

    result_backend: str | None = None
    """Celery result backend; defaults to the broker's Redis, or files under state_dir."""

    job_soft_time_limit_s: int = Field(3600, ge=10)
    """A training job still running after this is stopped cleanly and marked failed."""

    job_time_limit_s: int = Field(3900, ge=10)
    """Hard limit: the worker process running the job is killed."""

    job_heartbeat_timeout_s: float = Field(60.0, ge=1.0)
    """A running job whose worker has been silent this long is marked failed."""

    log_format: Literal["text", "json"] = "text"
    """`json`: every log line of the API and the workers is one JSON object (time, level,
    logger, message, and the request id, route, status, duration, model and job when known)."""

    worker_metrics_port: int | None = Field(None, ge=1, le=65535)
    """Where a worker serves its Prometheus metrics (job counts and durations, epoch
    progress) over HTTP; unset: it serves none."""

    @field_validator("artifact_root", mode="before")
    @classmethod
    def _location_as_text(cls, value: object) -> object:
        return os.fspath(value) if isinstance(value, os.PathLike) else value

    @property
    def artifacts_on_s3(self) -> bool:
        return bool(self.artifact_root) and self.artifact_root.startswith("s3://")

    @property
    def artifacts(self) -> Path | str:
        """The store's folder (absolute), or its s3:// URL."""
        if self.artifacts_on_s3:
            return self.artifact_root
        root = Path(self.artifact_root) if self.artifact_root else self.state_dir / "artifacts"
        return root.absolute()

    @property
    def cache(self) -> Path:
        return (self.artifact_cache or self.state_dir / "cache").absolute()

    def celery_config(self) -> dict:
        """The Celery configuration both the API (sending) and the workers (running) use."""
        state = self.state_dir.absolute()
        if self.broker_url:
            broker = self.broker_url
            backend = self.result_backend or self.broker_url
            transport_options = {"visibility_timeout": self.job_time_limit_s + 600}
        else:
            queue = state / "broker" / "queue"
            processed = state / "broker" / "processed"
            control = state / "broker" / "control"
            for folder in (queue, processed, control, state / "broker" / "results"):
                folder.mkdir(parents=True, exist_ok=True)
            broker = "filesystem://"
            backend = self.result_backend or f"file://{state / 'broker' / 'results'}"
            transport_options = {
                "data_folder_in": str(queue),
                "data_folder_out": str(queue),
                "processed_folder": str(processed),
                "control_folder": str(control),
                "store_processed": False,
                "polling_interval": 0.1,
            }
        return {
            "broker_url": broker,
            "result_backend": backend,
            "broker_transport_options": transport_options,
            "result_backend_transport_options": transport_options if self.broker_url else {},
            "broker_connection_retry_on_startup": True,
            "task_serializer": "json",
            "result_serializer": "json",
            "accept_content": ["json"],
            "task_acks_late": True,
            "task_reject_on_worker_lost": False,
            "task_track_started": True,
            "task_soft_time_limit": self.job_soft_time_limit_s,
            "task_time_limit": self.job_time_limit_s,
            "worker_prefetch_multiplier": 1,
            "worker_concurrency": 1,
            "result_extended": True,
            "result_expires": 7 * 24 * 3600,
        }
