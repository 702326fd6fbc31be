"""The reader kind: digits learnt from sums of pairs, with no digit label in its training."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from models.kinds import reader as reader_kind
from models.params import ReaderParams
from models.training.fit import PairResults


def test_no_digit_label_reaches_the_readers_training(mnist, tmp_path, monkeypatch) -> None:
    """Training receives images, pairs of their indices and each pair's sum: nothing else
    derived from the labels. The spy sees every argument the real training gets."""
    from models.artifacts.registry import ArtifactStore
    from models.training.pipeline import run_training

    (x_train, y_train), _ = mnist
    seen: list[tuple] = []
    real = reader_kind.train_reader

    def spy(*args, **kwargs):
        seen.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(reader_kind, "train_reader", spy)
    params = {"epochs": 1, "pairs": 2_000, "train_limit": 1_000}
    store = ArtifactStore(tmp_path / "store")
    published = run_training("reader", params, store, dataset=mnist)

    ((args, kwargs),) = seen
    assert not kwargs
    given_params, images, fit, validation, _monitor = args
    assert isinstance(given_params, ReaderParams)
    np.testing.assert_array_equal(images, x_train[:1_000])
    labels = y_train[:1_000]
    for part in (fit, validation):
        assert isinstance(part, PairResults)
        assert set(vars(part)) == {"pairs", "results"}
        np.testing.assert_array_equal(part.results, labels[part.pairs].sum(axis=1))
        for side in (0, 1):  # a sum is not a label: it differs from either digit somewhere
            assert not np.array_equal(part.results, labels[part.pairs[:, side]])
    names = set(inspect.signature(real).parameters)
    assert names == {"params", "images", "train", "validation", "monitor"}

    metadata = store.get("reader", published.version).metadata
    assert metadata["labels_used"] == 0
    assert set(published.metrics) == {
        "test_accuracy",
        "add_accuracy",
        "multiply_accuracy",
        "compare_accuracy",
    }


def test_the_quick_reader_reads_digits_it_was_never_told(trained_root, mnist) -> None:
    """Two short epochs of sums on the test subset teach real digits (labels only score)."""
    from models.artifacts.catalog import LITERT_FILE
    from models.artifacts.registry import ArtifactStore
    from models.runtime import LiteModel

    (_, _), (x_test, y_test) = mnist
    stored = ArtifactStore(trained_root).resolve("reader")
    model = LiteModel(stored.file(LITERT_FILE))
    readings = model.run("classify", image=x_test.astype(np.float32) / 255)["probabilities"]
    accuracy = float(np.mean(readings.argmax(axis=1) == y_test))
    assert accuracy > 0.8
    assert accuracy == pytest.approx(stored.metadata["metrics"]["test_accuracy"], abs=0.005)


def test_the_sum_layer_is_the_distribution_of_the_sum() -> None:
    rng = np.random.default_rng(0)
    readings = rng.dirichlet(np.ones(10), size=(5, 2)).astype("float32")
    sums = np.asarray(reader_kind.SumOfDigits()(readings))
    for row, (first, second) in zip(sums, readings, strict=True):
        expected = np.convolve(first, second)
        np.testing.assert_allclose(row, expected, rtol=1e-5, atol=1e-7)
        assert row.sum() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("values", [{"epochs": 200, "pairs": 2_000_000}, {"pairs": 10}])
def test_reader_params_bound_the_work(values) -> None:
    with pytest.raises(ValueError):
        ReaderParams(**values)
