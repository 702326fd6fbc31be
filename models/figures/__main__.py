"""Draw the figures of a store's versions again, from their models, without training.

python -m models.figures --root starter                  # every version of every name
python -m models.figures --root var/artifacts vae few-label --data mnist.npz

Each version's `model.keras` is loaded with Keras and drawn on the test split of
`--data` (default: HANDCALC_DATA, as `models.data.load_mnist` finds it); the figures
replace the version's old ones, and its manifest lists them with their digests
(`ArtifactStore.replace_figures`). Every other file of the version stays as it was.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

from models.artifacts.registry import ArtifactStore
from models.data import digest, load_mnist
from models.figures import figures_for
from models.kinds import recorded_kind
from models.kinds.run import load_keras_model


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m models.figures",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("models", nargs="*", metavar="NAME", help="names to draw (default: all)")
    parser.add_argument("--root", required=True, help="the artifact store's folder")
    parser.add_argument("--data", help="mnist.npz or IDX folder (default: HANDCALC_DATA)")
    return parser


def redraw(store: ArtifactStore, name: str, version: int, test: tuple) -> list[str]:
    """Draw the figures of `name` v`version` again and put them in the version."""
    model, stored = load_keras_model(store, name, version)
    kind = recorded_kind(name, stored.metadata)
    if kind is None:
        raise ValueError(f"{name} v{version} records no kind")
    with tempfile.TemporaryDirectory() as folder:
        drawn = figures_for(name, kind, model, stored.metadata, test, Path(folder))
        store.replace_figures(name, version, Path(folder), drawn)
    return drawn


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    store = ArtifactStore(arguments.root)
    names = arguments.models or store.names()
    dataset = load_mnist(arguments.data)
    data_digest = digest(dataset)
    started = time.perf_counter()
    for name in names:
        for stored in store.versions(name):
            if stored.metadata.get("data", {}).get("digest") not in (None, data_digest):
                print(
                    f"note: {name} v{stored.version} was tested on other data; its figures "
                    "score it on this data",
                    file=sys.stderr,
                )
            begun = time.perf_counter()
            drawn = redraw(store, name, stored.version, dataset[1])
            seconds = time.perf_counter() - begun
            print(f"{name} v{stored.version}: {', '.join(drawn)} ({seconds:.1f} s)")
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
