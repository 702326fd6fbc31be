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


def test_a_copy_standardises_with_the_statistics_it_was_adapted_to(mnist):
    """`portable` copies weights into a rebuilt model; an adapted Normalization must then
    use them, as it does once Keras has loaded a saved model."""
    import keras
    import numpy as np
    from keras import layers

    from models.training.layers import portable

    images = (mnist[1][0][:200] / 255.0).astype(np.float32).reshape(200, -1)
    standardise = layers.Normalization(name="standardise")
    standardise.adapt(images)
    inputs = keras.Input((784,))
    model = keras.Model(inputs, layers.Dense(10, name="head")(standardise(inputs)))
    np.testing.assert_allclose(
        np.asarray(portable(model)(images)), np.asarray(model(images)), atol=1e-5
    )


@pytest.mark.slow
def test_every_starter_export_answers_as_its_keras_model(digits):
    """The shipped LiteRT files take their model.keras' decisions on real test digits (and
    an autoencoder's give its latents), and read those digits about as well as the
    version's metadata says they read MNIST's test set."""
    import keras
    import numpy as np

    from models.artifacts.catalog import LITERT_FILE
    from models.artifacts.registry import ArtifactStore
    from models.kinds import get_kind
    from models.runtime import LiteModel
    from models.training.export import decisions

    images, labels = (digits[0] / 255.0).astype(np.float32), digits[1]
    store = ArtifactStore(STARTER)
    for name in store.names():
        stored = store.resolve(name)
        kind = get_kind(stored.metadata["kind"])
        model = keras.saving.load_model(stored.file(KERAS_FILE), safe_mode=True, compile=False)
        endpoints = kind.load().endpoints(model)
        lite = LiteModel(stored.file(LITERT_FILE))
        signature = next(iter(kind.signatures))
        batch = images.reshape(-1, 2, 28, 28) if signature == "predict" else images
        expected = {key: np.asarray(value) for key, value in endpoints[signature][0](batch).items()}
        actual = lite.run(signature, **{kind.signatures[signature][0]: batch})
        for key, value in expected.items():
            if signature == "encode":
                assert np.abs(actual[key] - value).max() < 1e-4, name
            else:
                agreement = (decisions(actual[key]) == decisions(value)).mean()
                assert agreement >= 0.99, (name, key, agreement)
        if signature == "classify":
            accuracy = (actual["probabilities"].argmax(axis=1) == labels).mean()
            assert accuracy >= stored.metadata["metrics"]["test_accuracy"] - 0.03, (name, accuracy)
