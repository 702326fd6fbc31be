"""bench.peers runs to the end against the test store: every peer app (plain FastAPI,
LitServe, BentoML, Ray Serve, from the peers' own environment) and handcalc start, answer a
real MNIST digit and a pair rightly before and after their load, and get a row for every
cell. The timings are not judged here; the goals table is only checked to be there."""

import json

from tests.helpers import run_benchmark


def test_every_server_starts_and_answers_rightly_under_load(trained_root, tmp_path):
    run_benchmark(
        "bench.peers", trained_root, "--duration", "1", "--samples", "2",
        "--concurrency", "1,32", "--results", str(tmp_path), timeout=900,
    )  # fmt: skip
    report = json.loads((tmp_path / "peers.json").read_text())
    assert set(report["servers"]) == {
        "handcalc", "handcalc-2", "fastapi", "litserve", "bentoml", "ray",
    }  # fmt: skip
    for name, result in report["servers"].items():
        assert result["right"] == {"classify": True, "add": True}, name
        assert len(result["cold_starts_s"]) == 2, name
        for route in ("classify", "add"):
            rows = result["routes"][route]
            assert [row["concurrency"] for row in rows] == [1, 32], (name, route)
            assert all(row["requests"] > 0 and row["errors"] == 0 for row in rows), (name, rows)
            assert len(rows[1]["sampled_rps"]) == 2, (name, route)
        assert result["rss_after_load_mb"] > 20, name  # a Python process at the least
    goals = {row["goal"].split(":")[0] for row in report["goals"]}
    assert {"/classify c=32", "/classify c=1", "/add c=32 against /classify c=32"} <= goals
    assert "| Ray Serve" in (tmp_path / "peers.md").read_text()
