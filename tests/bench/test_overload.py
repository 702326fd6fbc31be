"""bench.overload runs to the end, directly and through compose's nginx, and prints a row for
each setting (a crashing benchmark is a bug). Its timings are not judged here; what was
refused, and how, is: wrk sees no status, so the probe checks that refusals are 503s."""

import json

from tests.helpers import run_benchmark


def _rows(trained_root, *arguments: str) -> list[dict]:
    output = run_benchmark(
        "bench.overload", trained_root, "--clients", "24", "--duration", "2", *arguments
    )
    rows = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    table = [line for line in output.splitlines() if line.startswith(("| direct", "| nginx"))]
    assert len(table) == len(rows), output
    for row in rows:
        assert row["answered_rps"] > 0, row
        assert row["socket_errors"] == 0 and row["probe_other"] == 0, row
    return rows


def test_direct_with_a_bound_refuses_only_with_503(trained_root):
    (row,) = _rows(trained_root, "--bounds", "4")
    assert (row["through"], row["bound"], row["max_conns"]) == ("direct", 4, None)
    assert row["refused_share"] > 0, row


def test_through_the_balancer_nginx_refuses_over_its_bound(trained_root):
    unbounded, bounded = _rows(trained_root, "--balancer", "--max-conns", "0,2")
    assert (unbounded["through"], unbounded["max_conns"], unbounded["bound"]) == (
        "nginx", None, 512,
    )  # fmt: skip
    assert (bounded["through"], bounded["max_conns"], bounded["bound"]) == ("nginx", 2, 512)
    assert unbounded["refused_share"] == 0 and bounded["refused_share"] > 0
