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
    "add": {"predict": ("latents", ("units", "tens"))},
    "multiply": {"predict": ("latents", ("units", "tens"))},
    "compare": {"predict": ("latents", ("greater",))},
}


def is_head(name: str) -> bool:
    return name in HEAD_NAMES
