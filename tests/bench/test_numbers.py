"""The numbers benchmark: its problems use every test image once, and it runs end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench import numbers


@pytest.mark.parametrize("length", [1, 2, 4, 15, 100])
def test_problems_use_each_test_image_at_most_once(length: int) -> None:
    indices = numbers.problems(10_000, length, seed=3)
    assert indices.shape == (10_000 // (2 * length), 2, length)
    assert len(np.unique(indices)) == indices.size


@pytest.mark.slow
def test_the_benchmark_runs_against_a_real_server(subset_path, tmp_path) -> None:
    arguments = ["--data", str(subset_path), "--limit", "200", "--seeds", "2"]
    assert numbers.main([*arguments, "--results", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "numbers.json").read_text())
    rows = {(row["operation"], row["digits"]): row for row in report["rows"]}
    assert set(rows) == {(op, n) for op, sizes in numbers.SIZES.items() for n in sizes}
    assert rows[("add", 1)]["problems"] == 100 and rows[("add", 100)]["problems"] == 1
    assert rows[("add", 1)]["precut_mean"] > 0.9  # the starter reader on real test digits
    assert rows[("add", 4)]["images"] > 0.8  # drawn, cut and sent over HTTP
    for length in numbers.GAP_GOAL:  # drawn on every permutation, as the pre-cut mean is
        assert 0.0 < rows[("add", length)]["images_mean"] <= 1.0
    assert "images_mean" not in rows[("multiply", 4)]
    assert "DeepProofLog 94.0%" in (tmp_path / "numbers.md").read_text()
