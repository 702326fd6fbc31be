"""Train models from the command line and print a metrics table.

python -m models.train --all                       # every shipped name, in dependency order
python -m models.train classifier --set epochs=2   # one name with some params changed
python -m models.train my-dense --kind classifier --set architecture=dense   # a new name
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from models.artifacts.names import InvalidModelName, check_name
from models.kinds import DEFAULT_MODELS, DEFAULTS_BY_NAME, KINDS
from models.params import TrainingParams, version_field
from models.settings import Settings


def _parse_assignment(text: str) -> tuple[str, object]:
    key, separator, value = text.partition("=")
    if not separator:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m models.train", description=__doc__)
    shipped = ", ".join(model.name for model in DEFAULT_MODELS)
    parser.add_argument("models", nargs="*", metavar="NAME", help=f"registered names ({shipped})")
    parser.add_argument("--all", action="store_true", help="train every shipped name in order")
    parser.add_argument("--kind", choices=list(KINDS), help="the kind of a new name")
    parser.add_argument("--data", help="mnist.npz or IDX folder (default: HANDCALC_DATA)")
    parser.add_argument("--root", help="artifact store root (default: HANDCALC_ARTIFACT_ROOT)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        type=_parse_assignment,
        metavar="KEY=VALUE",
        help="override a training parameter for every model trained (repeatable)",
    )
    parser.add_argument("--no-activate", action="store_true", help="publish without activating")
    return parser


def _reader_versions(params: TrainingParams, published_now: dict[str, int]) -> dict[str, int]:
    """A head reads with the model this run has just trained, if it trained its source.

    Without this, `--all --no-activate` would train the heads on the versions that
    were active before the run, not on the autoencoder and add head it published.
    """
    if getattr(params, "reader", None) not in published_now:
        return {}
    return {version_field(params.reader): published_now[params.reader]}


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    names = [model.name for model in DEFAULT_MODELS] if arguments.all else arguments.models
    if not names:
        print("name at least one model, or --all", file=sys.stderr)
        return 2
    try:
        for name in names:
            check_name(name)
    except InvalidModelName as error:
        print(error, file=sys.stderr)
        return 2
    order = [model.name for model in DEFAULT_MODELS]
    names.sort(key=lambda name: order.index(name) if name in order else len(order))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    from models.artifacts.stores import open_store
    from models.data import load_mnist
    from models.kinds import settle_kind
    from models.training.fit import Monitor
    from models.training.pipeline import run_training

    settings = Settings()
    store = open_store(settings, arguments.root)
    source = arguments.data or settings.data
    dataset = load_mnist(source)
    overrides = dict(arguments.set)
    rows = []
    published_now: dict[str, int] = {}
    for name in names:
        try:
            kind = settle_kind(name, store.kind_of(name), arguments.kind)
        except ValueError as error:
            print(error, file=sys.stderr)
            return 2
        shipped = DEFAULTS_BY_NAME.get(name)
        values = dict(shipped.params) if shipped and shipped.kind == kind.name else {}
        allowed = set(kind.params.model_fields)
        values.update({k: v for k, v in overrides.items() if k in allowed})
        params = kind.validate_params(values)

        def report(epoch: int, epochs: int, metrics: dict[str, float], name: str = name) -> None:
            shown = ", ".join(f"{key} {value:.4f}" for key, value in metrics.items())
            print(f"  {name} epoch {epoch}/{epochs}: {shown}", flush=True)

        print(f"training {name} with {params.model_dump()}", flush=True)
        published = run_training(
            name,
            params,
            store,
            kind=kind.name,
            dataset=dataset,
            data_source=source or "Keras cache or download",
            activate=not arguments.no_activate,
            monitor=Monitor(on_epoch=report),
            **_reader_versions(params, published_now),
        )
        published_now[name] = published.version
        rows.append(published)
        print(f"published {name} v{published.version}: {published.metrics}", flush=True)

    print("\n| model | version | metric | value | wall time (s) |\n|---|---|---|---|---|")
    for row in rows:
        for metric, value in row.metrics.items():
            print(
                f"| {row.name} | {row.version} | {metric} | {value:.4f} | {row.wall_time_s:.1f} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
