"""The models handcalc knows, the files each version holds and the signatures it serves.

No TensorFlow here: the API and the worker both read this.
"""

from __future__ import annotations

MODEL_NAMES: tuple[str, ...] = ("autoencoder", "classifier", "add", "multiply", "compare")
HEAD_NAMES: tuple[str, ...] = ("add", "multiply", "compare")

KERAS_FILE = "model.keras"
LITERT_FILE = "model.tflite"

# Signature name -> (input name, output names) of each model's LiteRT export.
SIGNATURES: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "autoencoder": {
        "encode": ("image", ("latent",)),
        "decode": ("latent", ("pixels",)),
    },
    "classifier": {"classify": ("image", ("probabilities",))},
    "add": {"predict": ("images", ("units", "tens"))},
    "multiply": {"predict": ("images", ("units", "tens"))},
    "compare": {"predict": ("images", ("greater",))},
}


def is_head(name: str) -> bool:
    return name in HEAD_NAMES


# The training task, as the API sends it by name and the workers register it.
TRAIN_TASK = "handcalc.train"
CANCELLED = "CANCELLED"  # the Celery state of a job that was cancelled
PROGRESS = "PROGRESS"  # the Celery state of a job that reported an epoch or a heartbeat


def cancel_key(job_id: str) -> bytes:
    """Key in the result backend whose presence asks job `job_id` to stop."""
    return f"handcalc-stop-{job_id}".encode()
