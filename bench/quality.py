"""Quality benchmark: train every model from scratch with its default params and score it.

    make bench-quality      (or: HANDCALC_DATA=../shared/data/mnist.npz python -m bench.quality)

Each model is trained, evaluated on MNIST's 10,000 test images (10,000 test pairs
per operation, fixed seed), exported and published to a fresh artifact store,
exactly as a training job would. On top of the metrics every version records, the
classifier is scored on a shifted test set: each test digit pasted at a random
offset into a 48x48 canvas, saved as PNG and sent through the API's preprocessing
and the classifier's LiteRT export. Results go to bench/results/quality.json and
quality.md; the exit status is 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from bench.machine import describe
from bench.report import write_report

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CANVAS = 48
SHIFT_SEED = 48


@dataclass(frozen=True)
class Goal:
    metric: str
    seed: str
    anchor: str
    target: float | None
    """None: a figure shown beside the goals, with no goal of its own."""
    lower_is_better: bool = False
    model: str | None = None
    """The registered name whose recorded test metric this row reads (None: measured here)."""
    key: str | None = None
    """Which of that name's metrics (None: its only one)."""
    shown_as: str = "{:.2%}"

    def met(self, value: float) -> bool | None:
        if self.target is None:
            return None
        # bool(): a numpy value compares to a numpy bool, which json cannot write
        return bool(value <= self.target if self.lower_is_better else value >= self.target)

    def text(self) -> str:
        if self.target is None:
            return ""
        return f"{'<=' if self.lower_is_better else '>='} {self.shown_as.format(self.target)}"


def _accuracy(metric: str, model: str, seed: str, anchor: str, target: float | None) -> Goal:
    return Goal(metric, seed, anchor, target, model=model, key="test_accuracy")


def _nats(metric: str, key: str, anchor: str, target: float | None = None) -> Goal:
    return Goal(
        metric, "", anchor, target, lower_is_better=True, model="vae", key=key, shown_as="{:.1f}"
    )


# Registered names trained only for this benchmark (beyond the shipped ones), with their kind
# and params: the few-label classifier at the notebook's budget, as the notebook did it (an
# MLP on the VAE latent alone), and at one label per digit on the add reader's output, whose
# readings cluster by digit, then self-trained.
EXTRA_MODELS: tuple[tuple[str, str, dict], ...] = (
    (
        "few-label-1400",
        "few-label",
        {
            "labels_per_class": 1400,
            "epochs": 20,
            "learning_rate": 3e-3,
            "read_from": "output",
            "consistency_steps": 0,
        },
    ),
    (
        "few-label-add",
        "few-label",
        {
            "reader": "add",
            "labels_per_class": 1,
            "learning_rate": 3e-3,
            "read_from": "output",
            "cluster_rounds": 5,
            "consistency_steps": 0,
            "self_training_rounds": 5,
        },
    ),
)

GOALS: dict[str, Goal] = {
    "autoencoder_test_bce": Goal(
        "autoencoder test BCE per pixel (latent 100)",
        "about 0.08",
        "test pixels' entropy 0.0581 (the floor)",
        0.062,
        lower_is_better=True,
        model="autoencoder",
        key="test_bce",
        shown_as="{:.4f}",
    ),
    "classifier_accuracy": _accuracy(
        "classifier accuracy",
        "classifier",
        "98.5% (1 epoch)",
        "99.25% Keras CNN; 99.8% best single",
        0.995,
    ),
    "add_accuracy": _accuracy("add (exact sum)", "add", "97%+", "97.9% DeepStochLog", 0.985),
    "multiply_accuracy": _accuracy("multiply (exact product)", "multiply", "97%+", "", 0.985),
    "compare_accuracy": _accuracy("compare (a > b)", "compare", "97%+", "", 0.990),
    "classifier_shifted_accuracy": Goal(
        "classifier, digits shifted in 48x48, via API preprocessing", "87.5% (dense)", "~99%", 0.990
    ),
    "dense_accuracy": _accuracy(
        "classifier-dense accuracy", "classifier-dense", "", "~98% (classic dense nets)", None
    ),
    "dense_shifted_raw_accuracy": Goal(
        "classifier-dense, shifted in 48x48, fed raw", "87.5% (notebook, shifted)", "", None
    ),
    "dense_shifted_accuracy": Goal(
        "classifier-dense, shifted in 48x48, via API preprocessing", "", "", None
    ),
    "vae_negative_elbo": _nats(
        "VAE negative ELBO per test image (nats, latent 16)",
        "test_negative_elbo",
        "~103 notebook (latent 10)",
        92.0,
    ),
    "vae_iw_nll": _nats(
        "VAE importance-weighted NLL, k = 100 (nats)", "test_iw_nll", "grey-level targets"
    ),
    "vae_reconstruction_bce": Goal(
        "VAE reconstruction BCE per pixel (decoded mean)",
        "",
        "",
        None,
        lower_is_better=True,
        model="vae",
        key="test_bce",
        shown_as="{:.4f}",
    ),
    "vae_kl": _nats("VAE KL per test image (nats)", "test_kl", ""),
    "few_label_1400_accuracy": _accuracy(
        "few-label: 14,000 labels on the VAE latent (notebook's budget)",
        "few-label-1400",
        "",
        "97.2% (notebook)",
        0.972,
    ),
    "few_label_accuracy": _accuracy(
        "few-label: 100 labels, unsupervised reader (the starter)",
        "few-label",
        "",
        "98.9% Ladder; 99.2% Bad GAN",
        0.990,
    ),
    "few_label_add_accuracy": _accuracy(
        "few-label: 10 labels on the add head's reader", "few-label-add", "", "", 0.990
    ),
    "reader_accuracy": _accuracy(
        "reader: per digit, learnt from sums alone (no label)",
        "reader",
        "",
        "99.0-99.5% (neurosymbolic readers)",
        0.9955,
    ),
    "reader_add_accuracy": Goal(
        "reader: exact sum of two test digits (the 10,000 test pairs the heads are scored on)",
        "",
        "",
        None,
        model="reader",
        key="add_accuracy",
    ),
    "reader_single_digit_sums": Goal(
        "reader: exact sums of single digits, each test image in one sum (bench.numbers, N = 1)",
        "",
        "97.9% DeepStochLog",
        0.992,
    ),
    "reader_training_minutes": Goal(
        "reader: wall time of its training run (min)",
        "",
        "",
        10.0,
        lower_is_better=True,
        shown_as="{:.1f}",
    ),
    "total_training_minutes": Goal(
        "total wall time of the default trainings (min)",
        "",
        "",
        30.0,
        lower_is_better=True,
        shown_as="{:.1f}",
    ),
}


def shifted_test_set(images: np.ndarray, seed: int = SHIFT_SEED) -> list[bytes]:
    """Each image pasted at a random offset into a black 48x48 canvas, as PNG bytes."""
    rng = np.random.default_rng(seed)
    offsets = rng.integers(0, CANVAS - 28 + 1, size=(len(images), 2))
    uploads = []
    for image, (top, left) in zip(images, offsets, strict=True):
        canvas = np.zeros((CANVAS, CANVAS), np.uint8)
        canvas[top : top + 28, left : left + 28] = image
        buffer = io.BytesIO()
        Image.fromarray(canvas).save(buffer, format="PNG")
        uploads.append(buffer.getvalue())
    return uploads


def shifted_accuracy(
    store, images: np.ndarray, labels: np.ndarray, name: str = "classifier", raw: bool = False
) -> float:
    """Accuracy of `name` on the shifted test digits: through the API's preprocessing, or
    `raw`: each 48x48 canvas scaled down to 28x28 as it is, with no re-centring."""
    from models.artifacts.catalog import LITERT_FILE
    from models.preprocess import preprocess_many
    from models.runtime import LiteModel

    uploads = shifted_test_set(images)
    if raw:
        pixels = np.stack(
            [
                np.asarray(
                    Image.open(io.BytesIO(upload)).resize((28, 28), Image.Resampling.BILINEAR)
                )
                for upload in uploads
            ]
        ).astype(np.float32)
        pixels /= 255.0
    else:
        pixels, errors = preprocess_many(uploads)
        if errors:
            raise RuntimeError(f"preprocessing refused {len(errors)} shifted test images")
    classifier = LiteModel(store.resolve(name).file(LITERT_FILE))
    probabilities = classifier.run("classify", image=pixels)["probabilities"]
    return float(np.mean(probabilities.argmax(axis=1) == labels))


def single_digit_sums(root: Path, images: np.ndarray, labels: np.ndarray) -> float:
    """The reader's exact sums of two test digits as the neurosymbolic protocol scores them
    (`bench.numbers` at N = 1): 5,000 sums using every test image once, the mean over the
    same seeded permutations of the test set."""
    from bench.numbers import SEEDS, precut_scores, reader_readings

    readings = reader_readings(root, "reader", images)
    return float(np.mean(precut_scores("add", readings, labels, 1, SEEDS)))


def run(data: str, root: Path, command: str) -> dict:
    from models.artifacts.registry import ArtifactStore
    from models.data import load_mnist
    from models.kinds import DEFAULT_MODELS
    from models.training.pipeline import run_training
    from models.training.precision import has_gpu

    machine = describe()  # measured before training, on idle cores
    dataset = load_mnist(data)
    store = ArtifactStore(root)
    values: dict[str, float] = {}
    models: dict[str, dict] = {}
    trainings = [(model.name, model.kind, model.params) for model in DEFAULT_MODELS]
    shipped_s = 0.0
    for name, kind, params in [*trainings, *EXTRA_MODELS]:
        print(f"training {name} ({kind}) with {params or 'its default params'} ...", flush=True)
        published = run_training(name, params, store, kind=kind, dataset=dataset, data_source=data)
        if (name, kind, params) in trainings:
            shipped_s += published.wall_time_s
        metadata = store.get(name, published.version).metadata
        models[name] = {
            "version": published.version,
            "metrics": published.metrics,
            "epochs_run": len(metadata["history"]),
            "training_s": metadata["training_wall_time_s"],
            "total_s": round(published.wall_time_s, 1),
            "precision": metadata["training_precision"],
        }
        print(f"  {published.metrics} in {published.wall_time_s:.0f} s", flush=True)
    for key, goal in GOALS.items():
        if goal.model is not None:
            values[key] = models[goal.model]["metrics"][goal.key]
    (_, _), (x_test, y_test) = dataset
    values["classifier_shifted_accuracy"] = shifted_accuracy(store, x_test, y_test)
    values["dense_shifted_accuracy"] = shifted_accuracy(store, x_test, y_test, "classifier-dense")
    values["dense_shifted_raw_accuracy"] = shifted_accuracy(
        store, x_test, y_test, "classifier-dense", raw=True
    )
    values["reader_single_digit_sums"] = single_digit_sums(root, x_test, y_test)
    values["reader_training_minutes"] = models["reader"]["total_s"] / 60
    values["total_training_minutes"] = shipped_s / 60
    return {
        "command": command,
        "machine": machine,
        "device": "gpu" if has_gpu() else "cpu",
        "data": data,
        "store": str(root),
        "models": models,
        "values": values,
        "goals": {key: goal.met(values[key]) for key, goal in GOALS.items()},
    }


def markdown(report: dict) -> str:
    lines = [
        f"Quality benchmark: `{report['command']}` on {report['machine']} ({report['device']}).",
        "",
        "| metric | value | seed | anchor | goal | met | wall time |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, goal in GOALS.items():
        shown = goal.shown_as.format(report["values"][key])
        seconds = f"{report['models'][goal.model]['total_s']:.0f} s" if goal.model else ""
        met = {True: "yes", False: "**no**", None: ""}[report["goals"][key]]
        lines.append(
            f"| {goal.metric} | {shown} | {goal.seed} | {goal.anchor} | {goal.text()} "
            f"| {met} | {seconds} |"
        )
    lines += [
        "",
        "Wall time per model covers training, evaluation, LiteRT export and publishing; the "
        "total counts the shipped names only (not few-label-1400 and few-label-add).",
        "Layers computed in: "
        + ", ".join(f"{name} {model['precision']}" for name, model in report["models"].items())
        + " (published in float32).",
        "",
    ]
    return "\n".join(lines)


def command_line(argv: list[str] | None) -> str:
    """How this run was started: the Makefile's target when it passed no arguments."""
    arguments = sys.argv[1:] if argv is None else argv
    return " ".join(["python -m bench.quality", *arguments]) if arguments else "make bench-quality"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__)
    parser.add_argument("--data", default=os.environ.get("HANDCALC_DATA"), help="mnist.npz")
    parser.add_argument("--root", help="artifact store to train into (default: a temp folder)")
    parser.add_argument("--results", default=str(RESULTS), help="folder for the results")
    arguments = parser.parse_args(argv)
    if not arguments.data:
        print("set HANDCALC_DATA (or --data) to the full MNIST mnist.npz", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory(prefix="handcalc-quality-") as scratch:
        root = Path(arguments.root) if arguments.root else Path(scratch)
        report = run(arguments.data, root, command_line(argv))
    write_report(arguments.results, "quality", report, markdown(report))
    return 0 if all(met is not False for met in report["goals"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
