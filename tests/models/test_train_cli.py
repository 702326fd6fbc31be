"""`python -m models.train`: several models in one run, published without activating."""

from __future__ import annotations

import shutil

from models import train
from models.artifacts.registry import ArtifactStore


def test_heads_read_with_what_the_same_run_trained_even_when_nothing_is_activated(
    trained_root, subset_path, tmp_path, capsys
):
    shutil.copytree(trained_root, tmp_path / "store")
    store = ArtifactStore(tmp_path / "store")
    status = train.main(
        ["add", "multiply", "--no-activate", "--root", str(tmp_path / "store"),
         "--data", str(subset_path), "--set", "epochs=1", "--set", "pairs=1000"]
    )  # fmt: skip
    assert status == 0
    # the new add head (v2) stays inactive, yet the new multiply head reads with it
    assert store.resolve("add").version == 1
    assert store.resolve("multiply").version == 1
    assert store.get("multiply", 2).metadata["lineage"] == {"add": 2, "autoencoder": 1}
    assert "| multiply | 2 | test_accuracy |" in capsys.readouterr().out
