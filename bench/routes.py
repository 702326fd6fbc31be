"""What each inference route costs the event loop's thread, with no HTTP in the way.

    python -m bench.routes [--requests 3000] [--concurrency 1,32] [--root starter]

One `handcalc serve` process answers with one event loop, and under load the model runs
in another thread with the GIL released, so the loop's thread bounds the requests/s: at
c=32 it is busy all the time. This benchmark builds the app as `handcalc serve` does
(`create_app` with the settings from the environment, every middleware, the starters)
and sends it the multipart bodies the load benchmarks send, as ASGI calls in this
process: no socket, no HTTP parser, no client sharing the cores. For each route and
concurrency it prints the loop thread's CPU time per request (`time.thread_time`), the
elapsed time over the requests sent, and the CPU time against `/classify`'s at the same
concurrency. At c=1 a lone request runs its model call on the loop itself, so the CPU
time holds the model's too.

Two runs on a 2-core Xeon agreed within 3% on eight of the ten rows and within 8% on all
(wrk's figures vary by 20-25%), so it suits comparing two versions of a route, in one
run or alternating. Every answer is checked:
a wrong one stops the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import store_root
from bench.machine import describe

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BOUNDARY = b"handcalc-bench-boundary"


@dataclass(frozen=True)
class Route:
    path: str
    fields: tuple[tuple[str, str], ...]
    """(multipart field, file in examples/)."""
    expected: dict
    """Keys of the JSON answer and the values they must have."""


ROUTES = (
    Route("/classify", (("image", "3.png"),), {"digit": 3}),
    Route("/add", (("a", "3.png"), ("b", "4.png")), {"result": 7}),
    Route("/multiply", (("a", "3.png"), ("b", "4.png")), {"result": 12}),
    Route("/compare", (("a", "3.png"), ("b", "4.png")), {"result": False}),
    Route("/read", (("image", "386.png"),), {"value": "386"}),
)
ROUTE_ORDER = {route.path: index for index, route in enumerate(ROUTES)}


@dataclass(frozen=True)
class Cost:
    route: str
    concurrency: int
    requests: int
    cpu_us: float
    """The loop thread's CPU time per request."""
    wall_us: float


def multipart(fields: tuple[tuple[str, str], ...]) -> bytes:
    """The body wrk sends for these fields (see `bench/multipart.lua`)."""
    parts = [
        b"--" + BOUNDARY + b"\r\n"
        b'Content-Disposition: form-data; name="' + name.encode() + b'"; filename="digit.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + (EXAMPLES / file).read_bytes() + b"\r\n"
        for name, file in fields
    ]
    return b"".join(parts) + b"--" + BOUNDARY + b"--\r\n"


async def call(app, path: str, body: bytes) -> tuple[int, bytes]:
    """One POST through the ASGI app: (status, response body)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"multipart/form-data; boundary=" + BOUNDARY),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    delivered = asyncio.Event()
    status, chunks = 0, []

    async def receive() -> dict:
        if not delivered.is_set():
            delivered.set()
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never hangs up
        raise AssertionError("unreachable")

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def check(route: Route, status: int, body: bytes) -> None:
    """`ValueError` unless the answer is a 200 with the route's expected values."""
    answer = json.loads(body) if status == 200 else None
    if answer is None or any(answer.get(key) != value for key, value in route.expected.items()):
        raise ValueError(f"{route.path} answered {status}: {body[:300]!r}")


async def cost(app, route: Route, concurrency: int, requests: int) -> Cost:
    """Send `requests` (rounded down to a multiple of `concurrency`) from `concurrency`
    clients, each waiting for its answer before the next; after a warm-up."""
    body = multipart(route.fields)
    for _ in range(min(requests, 200)):
        check(route, *await call(app, route.path, body))
    each = max(1, requests // concurrency)

    async def client() -> None:
        for _ in range(each):
            check(route, *await call(app, route.path, body))

    cpu, wall = time.thread_time(), time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
    sent = each * concurrency
    return Cost(route.path, concurrency, sent, cpu / sent * 1e6, wall / sent * 1e6)


async def measure(
    routes: tuple[Route, ...], concurrencies: list[int], requests: int, rounds: int
) -> list[Cost]:
    """Every route at every concurrency, `rounds` times in turn; the median round of each."""
    from app.main import create_app

    app = create_app()
    samples: dict[tuple[str, int], list[Cost]] = {}
    async with app.router.lifespan_context(app):
        for _ in range(rounds):
            for concurrency in concurrencies:
                for route in routes:
                    sample = await cost(app, route, concurrency, requests)
                    samples.setdefault((route.path, concurrency), []).append(sample)
    return [sorted(runs, key=lambda c: c.cpu_us)[len(runs) // 2] for runs in samples.values()]


def table(costs: list[Cost]) -> str:
    classify = {c.concurrency: c.cpu_us for c in costs if c.route == "/classify"}
    lines = [
        "| route | c | loop CPU per request (us) | elapsed per request (us) "
        "| CPU against /classify |",
        "|---|---|---|---|---|",
    ]
    for c in sorted(costs, key=lambda c: (c.concurrency, ROUTE_ORDER[c.route])):
        against = f"{c.cpu_us / classify[c.concurrency]:.2f}x" if c.concurrency in classify else ""
        lines.append(
            f"| {c.route} | {c.concurrency} | {c.cpu_us:.0f} | {c.wall_us:.0f} | {against} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="per route and concurrency")
    parser.add_argument("--concurrency", default="1,32")
    parser.add_argument("--rounds", type=int, default=3, help="the median round is shown")
    parser.add_argument("--root", help="store (default: HANDCALC_ARTIFACT_ROOT or starter/)")
    arguments = parser.parse_args(argv)
    concurrencies = [int(value) for value in arguments.concurrency.split(",")]
    root = store_root(arguments.root)
    with tempfile.TemporaryDirectory(prefix="handcalc-routes-") as state:
        os.environ.update(HANDCALC_ARTIFACT_ROOT=root, HANDCALC_STATE_DIR=state)
        costs = asyncio.run(measure(ROUTES, concurrencies, arguments.requests, arguments.rounds))
    print(f"Machine: {describe()}")
    print(f"Command: python -m bench.routes --requests {arguments.requests} "
          f"--concurrency {arguments.concurrency} --rounds {arguments.rounds}")  # fmt: skip
    print(table(costs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
