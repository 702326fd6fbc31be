"""The workers' Celery app: `celery -A worker.celery_app worker`.

TensorFlow is not imported here: the task imports it inside the pool process,
after the fork, on its first job.
"""

from __future__ import annotations

import logging

from celery import Celery
from celery.signals import worker_ready

from models.artifacts.stores import open_store
from models.settings import Settings

logger = logging.getLogger(__name__)

settings = Settings()
celery_app = Celery("handcalc", include=["worker.tasks"])
celery_app.conf.update(settings.celery_config())
app = celery_app  # what `celery -A worker.celery_app` looks for


@worker_ready.connect
def _clean_leftovers(**_: object) -> None:
    """Staging folders of jobs killed mid-publish are removed when a worker starts."""
    removed = open_store(settings).clean_staging(older_than_s=0)
    if removed:
        logger.info("removed %d staging folders left by earlier jobs", removed)
