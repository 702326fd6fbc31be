"""bench.faults runs to the end and prints its figures (a crashing benchmark is a bug)."""

import re

from tests.helpers import run_benchmark


def test_the_fault_benchmark_prints_its_figures(trained_root):
    output = run_benchmark("bench.faults", trained_root)
    read = int(re.search(r"the app read ([\d,]+) bytes", output).group(1).replace(",", ""))
    assert 16 * 2**20 < read <= 16 * 2**20 + 256 * 1024
    assert "declared 64 MiB body: HTTP/1.1 413" in output
    assert re.search(r"Redis down: POST /jobs -> 503 in \d+ ms", output)
    assert re.search(r"Redis down: POST /classify -> 200 digit 7", output)
