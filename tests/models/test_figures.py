"""Every version's pictures, drawn from real models trained on real MNIST digits."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.artifacts.catalog import figure_file
from models.artifacts.registry import ArtifactStore, file_digest
from models.figures import DRAWINGS
from models.figures.__main__ import main as redraw_command
from models.figures.classifiers import confusion, first_layer, pick_mistakes
from models.figures.latents import map_coordinates, principal_directions
from models.figures.pairs import pair_scores, pair_table
from models.figures.subject import Subject
from models.kinds import KINDS, get_kind
from models.kinds.run import load_keras_model
from tests.conftest import QUICK_PARAMS, SUBSET


def _subject(store: ArtifactStore, name: str, mnist) -> Subject:
    model, stored = load_keras_model(store, name)
    images, labels = mnist[1]
    return Subject(name, stored.metadata["kind"], model, stored.metadata, images, labels)


def test_every_figure_a_kind_names_has_a_drawing():
    for kind in KINDS.values():
        assert kind.figures[0] == "training-curves", kind.name
        assert set(kind.figures) <= set(DRAWINGS), kind.name


@pytest.mark.parametrize("name", list(QUICK_PARAMS))
def test_every_published_version_carries_its_kinds_figures(trained_root, name):
    stored = ArtifactStore(trained_root).resolve(name)  # every digest checked, figures too
    kind = get_kind(stored.metadata["kind"])
    assert stored.metadata["figures"] == list(kind.figures)
    for figure in kind.figures:
        path = stored.file(figure_file(figure))
        assert stored.metadata["files"][figure_file(figure)] == file_digest(path)
        assert 2_000 < path.stat().st_size < 120_000, figure
        with Image.open(path) as image:
            assert image.format == "PNG"
            width, height = image.size
            assert 300 <= width <= 1_200 and 80 <= height <= 800, (figure, image.size)
            low, high = image.convert("L").getextrema()
            assert high - low > 100, figure  # something is drawn on it


def test_the_confusion_matrix_counts_the_versions_test_accuracy(trained_root, mnist):
    for name in ("classifier", "classifier-dense", "few-label", "reader"):
        subject = _subject(ArtifactStore(trained_root), name, mnist)
        counts = confusion(subject.labels, subject.probabilities.argmax(axis=1))
        assert counts.sum() == len(subject.labels) == 500
        assert list(counts.sum(axis=1)) == list(np.bincount(subject.labels, minlength=10))
        recorded = subject.metadata["metrics"]["test_accuracy"]
        assert np.trace(counts) / counts.sum() == pytest.approx(recorded, abs=1.5 / 500), name


def test_pair_accuracy_adds_up_to_the_recorded_accuracies(trained_root, mnist):
    store = ArtifactStore(trained_root)
    for name, recorded_as in (
        ("add", {"add": "test_accuracy"}),
        ("compare", {"compare": "test_accuracy"}),
        ("reader", {op: f"{op}_accuracy" for op in ("add", "multiply", "compare")}),
    ):
        subject = _subject(store, name, mnist)
        scores = pair_scores(subject)
        assert set(scores) == set(recorded_as)
        for operation, metric in recorded_as.items():
            accuracy, counts = pair_table(scores[operation], subject.labels)
            assert counts.sum() == 10_000
            seen = counts > 0
            assert np.all((accuracy[seen] >= 0) & (accuracy[seen] <= 1))
            overall = float(np.sum(accuracy[seen] * counts[seen]) / counts.sum())
            recorded = subject.metadata["metrics"][metric]
            assert overall == pytest.approx(recorded, abs=5e-4), (name, operation)


def test_the_mistakes_gallery_holds_only_mistakes_most_confident_first(trained_root, mnist):
    subject = _subject(ArtifactStore(trained_root), "few-label", mnist)
    probabilities, labels = subject.probabilities, subject.labels
    predicted = probabilities.argmax(axis=1)
    wrong = int(np.sum(predicted != labels))
    assert wrong > 0
    chosen = pick_mistakes(probabilities, labels, 40)
    assert len(chosen) == min(40, wrong)
    assert np.all(predicted[chosen] != labels[chosen])
    confidence = probabilities[chosen, predicted[chosen]]
    assert np.all(np.diff(confidence) <= 0)
    others = np.setdiff1d(np.flatnonzero(predicted != labels), chosen)
    if len(others):  # none left out is surer than the least sure one shown
        assert probabilities[others, predicted[others]].max() <= confidence[-1]
    everything = pick_mistakes(probabilities, labels, len(labels))
    assert sorted(everything) == sorted(np.flatnonzero(predicted != labels))


def test_the_first_layer_is_found_through_nested_readers(trained_root):
    store = ArtifactStore(trained_root)
    dense, _ = load_keras_model(store, "classifier-dense")
    assert tuple(first_layer(dense).kernel.shape) == (784, 512)
    few_label, _ = load_keras_model(store, "few-label")  # reads with the VAE's encoder
    vae, _ = load_keras_model(store, "vae")
    found = first_layer(few_label)
    assert found.__class__.__name__ == "Conv2D"
    vae_first = first_layer(vae)
    np.testing.assert_array_equal(np.asarray(found.kernel), np.asarray(vae_first.kernel))


def test_latent_maps_use_the_latent_itself_or_its_leading_principal_directions(trained_root, mnist):
    subject = _subject(ArtifactStore(trained_root), "vae", mnist)
    latents = subject.latents
    assert latents.shape == (500, 8)  # the whole subset's test split (under 2,000)
    points, axes_names = map_coordinates(latents)
    assert points.shape == (500, 2) and axes_names[0] == "principal direction 1"
    variances = points.var(axis=0)
    assert variances[0] >= variances[1]
    centred = latents - latents.mean(axis=0)
    assert variances[0] >= centred.var(axis=0).max() - 1e-6  # no axis spreads them more
    _mean, directions = principal_directions(latents)
    unit = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    assert abs(float(unit[0] @ unit[1])) < 1e-5
    two, names = map_coordinates(latents[:, :2])
    np.testing.assert_array_equal(two, latents[:, :2])
    assert names == ("latent 1", "latent 2")


def test_the_command_draws_a_versions_figures_again_and_changes_nothing_else(
    trained_root, tmp_path, capsys
):
    shutil.copytree(trained_root, tmp_path / "store")
    store = ArtifactStore(tmp_path / "store")
    before = {name: store.get(name, 1).metadata for name in ("classifier", "vae")}
    empty = tmp_path / "none"
    empty.mkdir()
    store.replace_figures("classifier", 1, empty, [])  # as a version from before figures
    stripped = store.get("classifier", 1)
    assert stripped.metadata["figures"] == []
    assert list(stripped.path.rglob("*.png")) == []

    command = ["--root", str(store.root), "--data", str(SUBSET), "classifier", "vae"]
    assert redraw_command(command) == 0
    printed = capsys.readouterr().out
    assert "classifier v1: training-curves, confusion-matrix, mistakes, first-layer" in printed
    for name, old in before.items():
        new = store.get(name, 1).metadata  # verifies every digest
        assert new["figures"] == old["figures"] == list(get_kind(old["kind"]).figures)
        kept = {k: v for k, v in old["files"].items() if not k.startswith("figures/")}
        assert {k: v for k, v in new["files"].items() if not k.startswith("figures/")} == kept
        assert sorted(k for k in new["files"] if k.startswith("figures/")) == sorted(
            figure_file(figure) for figure in old["figures"]
        )
        unchanged = ("files",)
        assert {k: v for k, v in new.items() if k not in unchanged} == {
            k: v for k, v in old.items() if k not in unchanged
        }
    leftovers = [p.name for p in (store.root / "classifier").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_the_starters_carry_their_figures():
    store = ArtifactStore(Path(__file__).resolve().parents[2] / "starter")
    assert len(store.names()) == len(QUICK_PARAMS)
    for name in store.names():
        for listed in store.versions(name):
            stored = store.get(name, listed.version)  # every digest checked, figures too
            assert stored.metadata["figures"] == list(get_kind(stored.metadata["kind"]).figures)
            for figure in stored.metadata["figures"]:
                assert stored.file(figure_file(figure)).stat().st_size < 60_000, (name, figure)
