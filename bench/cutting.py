"""Cutting benchmark: how often numbers drawn in each style are cut into exactly their
digits, and read right, with and without the reader's judgement; and what cutting costs.

    python -m bench.cutting [--data mnist.npz] [--numbers 200]

Numbers of 2 to 8 MNIST test digits are drawn by `models.numbers.render` in each style
(seeded), cut by `models.numbers.cut`, and read by the shipped reader (LiteRT). A number
counts as cut right when it comes out as exactly its digits, and as read right when,
besides, every digit is read as its label. Timing: cutting a 100-digit number, median of
20 runs, PNG decoding included.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from bench.machine import describe
from models.numbers import render
from models.numbers.cut import cut_number

STYLES = {
    "uneven gaps": render.Style(),
    "light on dark": render.Style(dark_on_light=False),
    "sloped, jittery": render.Style(slope_degrees=4.0, jitter=2.5),
    "broken strokes (half the digits)": render.Style(broken=0.5),
    "specks and grain": render.Style(specks=20, noise=0.04),
    "touching (gaps -1 to 0.5 px)": render.Style(gap=(-1.0, 0.5)),
    "overlapping (gaps -3 to 0 px)": render.TOUCHING,
    "rough (all of it)": render.ROUGH,
}


def starter_reader():
    from models.artifacts.catalog import LITERT_FILE
    from models.artifacts.registry import ArtifactStore
    from models.runtime import LiteModel
    from models.settings import Settings

    model = LiteModel(ArtifactStore(Settings().starter_dir).resolve("reader").file(LITERT_FILE))
    return lambda images: model.run("classify", image=images)["probabilities"]


def score(images, labels, style, numbers: int, read, judged: bool) -> tuple[float, float]:
    rng = np.random.default_rng(4)
    judge = (lambda batch: read(batch).max(axis=1)) if judged else None
    cut_right = read_right = 0
    for _ in range(numbers):
        chosen = rng.integers(0, len(images), int(rng.integers(2, 9)))
        drawn = render.render(list(images[chosen]), rng, style)
        digits = cut_number(drawn.png(), judge=judge)
        if len(digits) == len(chosen):
            cut_right += 1
            readings = read(np.stack([d.image for d in digits])).argmax(axis=1)
            read_right += bool((readings == labels[chosen]).all())
    return cut_right / numbers, read_right / numbers


def main(argv: list[str] | None = None) -> int:
    from models.data import load_mnist

    parser = argparse.ArgumentParser(prog="python -m bench.cutting", description=__doc__)
    parser.add_argument("--data", default=os.environ.get("HANDCALC_DATA"), help="mnist.npz")
    parser.add_argument("--numbers", type=int, default=200, help="numbers per style")
    arguments = parser.parse_args(argv)
    if not arguments.data:
        print("set HANDCALC_DATA (or --data) to an mnist.npz", file=sys.stderr)
        return 2
    machine = describe()
    (_, _), (images, labels) = load_mnist(arguments.data)
    read = starter_reader()
    command = " ".join(["python -m bench.cutting", *(argv or sys.argv[1:])])
    print(f"Cutting benchmark: `{command}` on {machine}.\n")
    print("| style | cut right, ink | read right, ink | cut right, judged | read right, judged |")
    print("|---|---|---|---|---|")
    for name, style in STYLES.items():
        ink = score(images, labels, style, arguments.numbers, read, judged=False)
        judged = score(images, labels, style, arguments.numbers, read, judged=True)
        print(
            f"| {name} | {ink[0]:.1%} | {ink[1]:.1%} | {judged[0]:.1%} | {judged[1]:.1%} |",
            flush=True,
        )
    rng = np.random.default_rng(100)
    data = render.render(list(images[rng.integers(0, len(images), 100)]), rng).png()
    times = []
    for _ in range(20):
        started = time.perf_counter()
        cut_number(data)
        times.append(time.perf_counter() - started)
    print(f"\nCutting a 100-digit number ({len(data):,} bytes of PNG): median "
          f"{1000 * float(np.median(times)):.1f} ms over 20 runs.")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
