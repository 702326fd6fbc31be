"""Every published model.keras loads with plain Keras in a process that never imported handcalc."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from models.artifacts.catalog import KERAS_FILE

STARTER = Path(__file__).resolve().parents[2] / "starter"

_LOAD = """
import json, sys
import keras
import numpy as np
found = {}
for path in sys.argv[1:]:
    model = keras.saving.load_model(path, safe_mode=True)
    found[path] = model.name
leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("models", "app", "worker", "bench"))
print(json.dumps({"loaded": found, "handcalc_modules": leaked}))
"""


def _load_elsewhere(paths: list[Path], tmp_path: Path) -> dict:
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    environment["TF_CPP_MIN_LOG_LEVEL"] = "3"
    finished = subprocess.run(
        [sys.executable, "-c", _LOAD, *map(str, paths)],
        cwd=tmp_path,  # not the checkout: `import models` would find nothing to import
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    return json.loads(finished.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_every_starter_loads_with_plain_keras(tmp_path):
    paths = sorted(STARTER.glob(f"*/*/{KERAS_FILE}"))
    assert {path.parts[-3] for path in paths} >= {"autoencoder", "classifier", "add"}
    result = _load_elsewhere(paths, tmp_path)
    assert len(result["loaded"]) == len(paths)
    assert result["handcalc_modules"] == []


@pytest.mark.slow
def test_every_freshly_trained_kind_loads_with_plain_keras(trained_root, tmp_path):
    paths = sorted(Path(trained_root).glob(f"*/*/{KERAS_FILE}"))
    kinds = {json.loads((path.parent / "metadata.json").read_text())["kind"] for path in paths}
    assert kinds == {
        "autoencoder",
        "classifier",
        "vae",
        "few-label",
        "reader",
        "add",
        "multiply",
        "compare",
    }
    result = _load_elsewhere(paths, tmp_path)
    assert len(result["loaded"]) == len(paths) and result["handcalc_modules"] == []
