"""The Python client and the CLI following a real training job to its end."""

from __future__ import annotations

from itertools import pairwise

from app.cli import main
from app.client import Client
from tests.worker.conftest import TOKEN

TINY_JOB = {"epochs": 2, "train_limit": 600, "batch_size": 64}


def test_submit_and_wait_with_progress_then_roll_back(embedded_stack, capsys):
    with Client(embedded_stack.base, TOKEN) as client:
        accepted = client.submit("classifier", params=TINY_JOB)
        reports = []
        job = client.wait(accepted.id, on_progress=reports.append, timeout=180, interval=0.1)
        assert job.state == "succeeded" and job.result["version"] == 2
        assert reports[-1].state == "succeeded"
        assert {report.progress["epoch"] for report in reports} >= {1, 2}
        seen = [(r.state, r.progress, len(r.history)) for r in reports]
        assert all(a != b for a, b in pairwise(seen))  # a report only when something changed
    code = main(["jobs", "watch", accepted.id, "--url", embedded_stack.base, "--token", TOKEN])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith(f"job {accepted.id} (classifier): succeeded, epoch 2/2 (100%)")
    assert "published classifier v2 (active)" in out
    code = main(["models", "activate", "classifier", "1", "--url", embedded_stack.base,
                 "--token", TOKEN])  # fmt: skip
    assert code == 0 and capsys.readouterr().out.startswith("classifier: version 1 is active")
