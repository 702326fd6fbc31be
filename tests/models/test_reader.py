"""The reader kind: digits learnt from sums of pairs, with no digit label in its training."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from models.kinds import reader as reader_kind
from models.params import ReaderParams


def test_no_digit_label_reaches_the_readers_training(mnist, tmp_path, monkeypatch) -> None:
    """Training receives images, groups of their indices and the sum of every pair in each
    group: nothing else derived from the labels. The spy sees every argument the real
    training gets."""
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
    pairs = reader_kind.group_pairs(ReaderParams().group_size)
    for part in (fit, validation):
        assert isinstance(part, reader_kind.GroupSums)
        assert set(vars(part)) == {"groups", "sums"}
        digits = labels[part.groups]
        first, second = digits[:, pairs[:, 0]], digits[:, pairs[:, 1]]
        np.testing.assert_array_equal(part.sums, first + second)
        for side in (first, second):  # a sum is not a label: it differs from either digit
            assert not np.array_equal(part.sums, side)
    # the training images are read, the held-out ones only validate
    assert not set(fit.groups.ravel()) & set(validation.groups.ravel())
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


@pytest.mark.parametrize("group_size", [2, 5])
def test_the_sum_layer_is_the_distribution_of_each_pairs_sum(group_size) -> None:
    rng = np.random.default_rng(0)
    readings = rng.dirichlet(np.ones(10), size=(3, group_size)).astype("float32")
    sums = np.asarray(reader_kind.PairSums(group_size)(readings))
    pairs = reader_kind.group_pairs(group_size)
    assert sums.shape == (3, group_size * (group_size - 1) // 2, 19)
    for group, group_sums in zip(readings, sums, strict=True):
        for (i, j), row in zip(pairs, group_sums, strict=True):
            np.testing.assert_allclose(row, np.convolve(group[i], group[j]), rtol=1e-5, atol=1e-7)
            assert row.sum() == pytest.approx(1.0, abs=1e-5)


def test_groups_hold_different_images_and_cover_each_pass() -> None:
    population = np.arange(100, 150)
    groups = reader_kind._draw_groups(12, population, 8, seed=3)
    assert groups.shape == (12, 8)
    for group in groups:
        assert len(set(group)) == 8
    # a pass is 6 groups of 48 of the 50 images, none read twice
    for one_pass in (groups[:6], groups[6:]):
        assert len(set(one_pass.ravel())) == 48
    assert set(groups.ravel()) <= set(population)
    with pytest.raises(ValueError, match="at least 8 images"):
        reader_kind._draw_groups(1, population[:7], 8, seed=0)


@pytest.mark.parametrize(
    "values", [{"epochs": 200, "pairs": 2_000_000}, {"pairs": 10}, {"group_size": 1}]
)
def test_reader_params_bound_the_work(values) -> None:
    with pytest.raises(ValueError):
        ReaderParams(**values)
