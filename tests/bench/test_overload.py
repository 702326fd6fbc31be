"""bench.overload runs to the end, directly and through compose's nginx, and prints its
table (a crashing benchmark is a bug). Its figures are not judged here: they are timings."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(trained_root, *arguments: str) -> list[list[str]]:
    environment = {**os.environ, "HANDCALC_ARTIFACT_ROOT": str(trained_root)}
    run = subprocess.run(
        [sys.executable, "-m", "bench.overload", "--clients", "24", "--duration", "2", *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    rows = [line for line in run.stdout.splitlines() if re.match(r"\| (direct|nginx) \|", line)]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def test_direct_with_a_bound_refuses_only_with_503(trained_root):
    (row,) = _run(trained_root, "--bounds", "4")
    through, max_conns, bound, clients, answered, refused, socket_errors = row[:7]
    assert (through, max_conns, bound, clients) == ("direct", "none", "4", "24")
    assert float(answered) > 0 and float(refused.rstrip("%")) > 0 and socket_errors == "0"


def test_through_the_balancer_nginx_refuses_over_its_bound(trained_root):
    rows = _run(trained_root, "--balancer", "--max-conns", "0,2")
    expected = [["nginx", "none", "512", "24"], ["nginx", "2", "512", "24"]]
    assert [row[:4] for row in rows] == expected
    unbounded, bounded = rows
    assert unbounded[5] == "0.0%" and float(bounded[5].rstrip("%")) > 0
    assert unbounded[6] == bounded[6] == "0"
