"""Fixtures shared by every test package: the shipped MNIST subset and small trained models."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SUBSET = Path(__file__).parent / "data" / "mnist_subset.npz"

# Small but real trainings on the shipped subset: enough for the models to work.
QUICK_PARAMS = {
    "autoencoder": {"epochs": 6, "batch_size": 64, "latent_dim": 32},
    "classifier": {"epochs": 5, "batch_size": 64},
    "add": {"epochs": 4, "pairs": 12_000},
    "multiply": {"epochs": 4, "pairs": 12_000},
    "compare": {"epochs": 3, "pairs": 12_000},
    "classifier-dense": {"architecture": "dense", "epochs": 5, "batch_size": 64},
    "vae": {"epochs": 5, "batch_size": 64, "latent_dim": 8},
    "few-label": {"reader": "vae", "labels_per_class": 10, "consistency_steps": 200},
    "reader": {"epochs": 2, "pairs": 42_000},  # 1,500 groups of 8 an epoch
}


@pytest.fixture(scope="session", autouse=True)
def isolated_environment(tmp_path_factory):
    """No HANDCALC_* setting of the developer's leaks in; local state goes to a temp folder."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("HANDCALC_")}
    for key in saved:
        if key != "HANDCALC_TEST_REUSE_STORE":
            del os.environ[key]
    os.environ["HANDCALC_STATE_DIR"] = str(tmp_path_factory.mktemp("state"))
    yield
    del os.environ["HANDCALC_STATE_DIR"]
    os.environ.update(saved)


@pytest.fixture(scope="session")
def subset_path() -> Path:
    return SUBSET


@pytest.fixture(scope="session")
def mnist():
    """((x_train, y_train), (x_test, y_test)) of the shipped subset."""
    from models.data import load_mnist

    return load_mnist(SUBSET, download=False)


@pytest.fixture(scope="session")
def trained_root(tmp_path_factory, mnist) -> Path:
    """An artifact store with version 1 of every model, trained on the subset."""
    from models.artifacts.registry import ArtifactStore
    from models.training.pipeline import run_training

    reuse = os.environ.get("HANDCALC_TEST_REUSE_STORE")  # a local shortcut, unset in CI
    if reuse and all((Path(reuse) / name / "active").exists() for name in QUICK_PARAMS):
        return Path(reuse)
    root = Path(reuse) if reuse else tmp_path_factory.mktemp("trained-store")
    store = ArtifactStore(root)
    for name, params in QUICK_PARAMS.items():
        if (root / name / "active").exists():
            continue
        run_training(name, params, store, dataset=mnist, data_source=SUBSET)
    return root


@pytest.fixture()
def digits(mnist) -> tuple[np.ndarray, np.ndarray]:
    """The subset's test images (uint8) and labels."""
    return mnist[1]


@pytest.fixture(scope="session")
def lite_classifier(trained_root):
    """A function from (N, 28, 28) float images to predicted digits, via the LiteRT export."""
    from models.artifacts.catalog import LITERT_FILE
    from models.artifacts.registry import ArtifactStore
    from models.runtime import LiteModel

    model = LiteModel(ArtifactStore(trained_root).resolve("classifier").file(LITERT_FILE))

    def classify(images: np.ndarray) -> np.ndarray:
        return model.run("classify", image=images)["probabilities"].argmax(axis=1)

    return classify
