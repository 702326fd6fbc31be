"""bench.routes runs the app in process against the starters: every route answers its
example rightly at every concurrency and gets a row; the timings are not judged."""

from pathlib import Path

import pytest

from bench.routes import ROUTES, check
from tests.helpers import run_benchmark

STARTER = Path(__file__).resolve().parents[2] / "starter"


def test_every_route_gets_a_row_at_every_concurrency():
    printed = run_benchmark(
        "bench.routes", STARTER, "--requests", "40", "--concurrency", "1,8", "--rounds", "1"
    )
    assert printed.startswith("Machine: ")
    rows = [line.split(" | ") for line in printed.splitlines() if line.startswith("| /")]
    assert sorted((row[0][2:], row[1]) for row in rows) == sorted(
        (route.path, c) for route in ROUTES for c in ("1", "8")
    )
    for row in rows:
        assert float(row[2]) > 0 and float(row[3]) > 0, row
    assert all(row[4].startswith("1.00x") for row in rows if row[0] == "| /classify")


@pytest.mark.parametrize(
    ("status", "body"),
    [(200, b'{"digit": 5}'), (422, b'{"detail": "bad"}'), (200, b'{"result": 7}')],
)
def test_a_wrong_answer_stops_the_run(status, body):
    with pytest.raises(ValueError, match="/classify answered"):
        check(ROUTES[0], status, body)
