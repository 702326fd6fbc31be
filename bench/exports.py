"""What the int8 LiteRT exports cost and gain: the shipped export of every name against a
float32 export of the same Keras model, on MNIST's 10,000 test images.

    make bench-exports   (or: python -m bench.exports [--root starter])

For each name whose kind serves decisions (classifiers, the reader, the arithmetic
heads) it reads the test images (pairs of them for a head, drawn as the heads' own
evaluation draws them) through the published `model.tflite` and through a float32
export made here from the version's `model.keras` (TensorFlow is imported: run it where
the `train` extra is installed), and prints each one's test accuracy, file size and
time an image with one thread at batch 1 and 32. Results go to bench/results/exports.md
and exports.json.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from bench.load import RESULTS
from bench.machine import describe
from bench.report import write_report
from models.artifacts.catalog import KERAS_FILE, LITERT_FILE
from models.artifacts.registry import ArtifactStore
from models.data import load_mnist
from models.kinds import Kind, get_kind
from models.ops import decode, draw_pairs, operation
from models.runtime import LiteModel

ROOT = Path(__file__).resolve().parents[1]
TIMED_BATCHES = (1, 32)
TIMED_IMAGES = 2_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=str(ROOT / "starter"), help="artifact store")
    parser.add_argument("--data", default=None, help="mnist.npz (default: HANDCALC_DATA, ...)")
    parser.add_argument("--results", default=str(RESULTS))
    arguments = parser.parse_args(argv)

    import keras

    from models.training.export import export_litert

    store = ArtifactStore(arguments.root)
    (_, _), (x_test, y_test) = load_mnist(arguments.data)
    rows = []
    for name in store.names():
        stored = store.resolve(name)
        kind = get_kind(stored.metadata["kind"])
        if not kind.quantize_export:
            continue
        model = keras.saving.load_model(stored.file(KERAS_FILE), safe_mode=True, compile=False)
        float_export = export_litert(model, kind.signatures, kind.load().endpoints(model))
        inputs, score = _task(kind, x_test, y_test)
        for label, flatbuffer in (
            ("published", stored.file(LITERT_FILE).read_bytes()),
            ("float32", float_export),
        ):
            lite = LiteModel(flatbuffer, num_threads=1)
            signature = next(iter(kind.signatures))
            input_name = kind.signatures[signature][0]
            outputs = _run(lite, signature, input_name, inputs)
            row = {
                "name": name,
                "export": label,
                "weights": stored.metadata.get("litert_weights", "float32")
                if label == "published"
                else "float32",
                "test_accuracy": score(outputs),
                "bytes": len(flatbuffer),
            }
            for batch in TIMED_BATCHES:
                row[f"us_per_image_batch_{batch}"] = _time(
                    lite, signature, input_name, inputs, batch
                )
            rows.append(row)
            print(row, flush=True)
    report = {
        "machine": describe(),
        "command": "python -m bench.exports",
        "root": arguments.root,
        "rows": rows,
    }
    write_report(arguments.results, "exports", report, markdown(report))
    return 0


def _task(kind: Kind, x_test: np.ndarray, y_test: np.ndarray):
    """The test inputs of a kind's signature and how to score its outputs on them (for a
    head, whose signature reads pairs, the pairs its own evaluation draws)."""
    from models.training.evaluation import EVALUATION_PAIRS, EVALUATION_SEED

    images = (x_test / 255.0).astype(np.float32)
    if "predict" not in kind.signatures:
        return images, lambda outputs: float((outputs["probabilities"].argmax(1) == y_test).mean())
    index = draw_pairs(EVALUATION_PAIRS, len(x_test), EVALUATION_SEED)
    expected = operation(kind.name).apply(y_test[index[:, 0]], y_test[index[:, 1]])
    return images[index], lambda outputs: float(
        (decode(kind.name, outputs).results == expected).mean()
    )


def _run(lite: LiteModel, signature: str, input_name: str, inputs: np.ndarray) -> dict:
    chunks = [
        lite.run(signature, **{input_name: inputs[start : start + 500]})
        for start in range(0, len(inputs), 500)
    ]
    return {key: np.concatenate([chunk[key] for chunk in chunks]) for key in chunks[0]}


def _time(lite: LiteModel, signature: str, input_name: str, inputs: np.ndarray, batch: int):
    """Microseconds an input, one thread, over `TIMED_IMAGES` inputs in batches of `batch`
    (taken in turn from `inputs`, from the start again when they run out)."""
    batches = [
        np.take(inputs, range(start, start + batch), axis=0, mode="wrap")
        for start in range(0, TIMED_IMAGES, batch)
    ]
    lite.run(signature, **{input_name: batches[0]})  # warm up
    started = time.perf_counter()
    for rows in batches:
        lite.run(signature, **{input_name: rows})
    return round((time.perf_counter() - started) / (len(batches) * batch) * 1e6, 1)


def markdown(report: dict) -> str:
    lines = [
        f"Machine: {report['machine']}. Command: `{report['command']}` on `{report['root']}`. "
        "Accuracy on MNIST's 10,000 test images (a head: the test pairs its evaluation "
        "draws); time an input with one thread.",
        "",
        "| name | export | weights | test accuracy | size | us/input, batch 1 | batch 32 |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        lines.append(
            f"| {row['name']} | {row['export']} | {row['weights']} | "
            f"{100 * row['test_accuracy']:.2f}% | {row['bytes'] / 1024:.0f} KiB | "
            f"{row['us_per_image_batch_1']} | {row['us_per_image_batch_32']} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
