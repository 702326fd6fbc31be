"""bench.faults runs to the end and prints its figures (a crashing benchmark is a bug)."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_fault_benchmark_prints_its_figures(trained_root):
    environment = {**os.environ, "HANDCALC_ARTIFACT_ROOT": str(trained_root)}
    run = subprocess.run(
        [sys.executable, "-m", "bench.faults"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    read = int(re.search(r"the app read ([\d,]+) bytes", run.stdout).group(1).replace(",", ""))
    assert 16 * 2**20 < read <= 16 * 2**20 + 256 * 1024
    assert "declared 64 MiB body: HTTP/1.1 413" in run.stdout
    assert re.search(r"Redis down: POST /jobs -> 503 in \d+ ms", run.stdout)
    assert re.search(r"Redis down: POST /classify -> 200 digit 7", run.stdout)
