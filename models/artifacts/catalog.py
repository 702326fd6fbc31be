"""The files each version holds, and the names the API and the workers share.

No TensorFlow here: the API and the worker both read this.
"""

from __future__ import annotations

KERAS_FILE = "model.keras"
LITERT_FILE = "model.tflite"
FIGURES_DIR = "figures"
"""The version's pictures (`figures/<figure>.png`); metadata's `figures` lists their stems."""


def figure_file(figure: str) -> str:
    """The path of a figure inside its version, as its manifest names it."""
    return f"{FIGURES_DIR}/{figure}.png"


# The training task, as the API sends it by name and the workers register it.
TRAIN_TASK = "handcalc.train"
CANCELLED = "CANCELLED"  # the Celery state of a job that was cancelled
PROGRESS = "PROGRESS"  # the Celery state of a job that reported an epoch or a heartbeat
REQUEST_ID_HEADER = "request_id"  # the Celery message header: the request that sent the job


def cancel_key(job_id: str) -> bytes:
    """Key in the result backend whose presence asks job `job_id` to stop."""
    return f"handcalc-stop-{job_id}".encode()
