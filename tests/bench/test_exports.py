import json

from bench import exports
from tests.conftest import SUBSET


def test_each_int8_export_is_scored_and_timed_beside_a_float32_one(trained_root, tmp_path):
    assert (
        exports.main(
            ["--root", str(trained_root), "--data", str(SUBSET), "--results", str(tmp_path)]
        )
        == 0
    )
    report = json.loads((tmp_path / "exports.json").read_text())
    rows = {(row["name"], row["export"]): row for row in report["rows"]}
    names = {name for name, _ in rows}
    assert {"classifier", "reader", "add", "multiply", "compare"} <= names
    assert "autoencoder" not in names and "vae" not in names  # their exports stay float32
    for name in names:
        published, plain = rows[name, "published"], rows[name, "float32"]
        if published["weights"] == "int8":
            assert published["bytes"] < plain["bytes"] / 3
        # the subset's models are weak, but int8 weights read the test images as they do
        assert abs(published["test_accuracy"] - plain["test_accuracy"]) <= 0.01
        assert published["us_per_image_batch_32"] > 0
    assert rows["classifier", "published"]["weights"] == "int8"
    assert rows["classifier", "float32"]["test_accuracy"] > 0.9
    assert "| classifier | published | int8 |" in (tmp_path / "exports.md").read_text()
