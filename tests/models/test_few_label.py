"""Classifiers from a handful of labels: the labels they get, and what they learn from them."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from models.artifacts.registry import ArtifactStore
from models.kinds import few_label
from models.params import FewLabelParams
from models.training import pipeline
from models.training.fit import Monitor


@pytest.fixture()
def store(trained_root, tmp_path):
    shutil.copytree(trained_root, tmp_path / "store")
    return ArtifactStore(tmp_path / "store")


def test_the_labelled_images_are_balanced_seeded_and_recorded(mnist):
    (_, labels), _ = mnist
    chosen = few_label.choose_labelled(labels, 3, seed=5)
    assert np.bincount(labels[chosen], minlength=10).tolist() == [3] * 10
    np.testing.assert_array_equal(chosen, few_label.choose_labelled(labels, 3, seed=5))
    assert not np.array_equal(chosen, few_label.choose_labelled(labels, 3, seed=6))
    with pytest.raises(ValueError, match="only .* images of the digit"):
        few_label.choose_labelled(labels, 5000, seed=0)


@pytest.mark.slow
def test_training_receives_the_labels_of_the_chosen_images_only(store, mnist, monkeypatch):
    received = {}
    original = few_label.train_few_label

    def spy(params, reader, images, labelled_index, labelled_digits, monitor=None):
        received.update(images=images, index=labelled_index, digits=labelled_digits)
        return original(params, reader, images, labelled_index, labelled_digits, monitor)

    monkeypatch.setattr(few_label, "train_few_label", spy)
    params = {"reader": "add", "labels_per_class": 1, "epochs": 300, "self_training_rounds": 3}
    params |= {"read_from": "output", "consistency_steps": 0}
    published = pipeline.run_training("few-add", params, store, kind="few-label", dataset=mnist)
    (x_train, y_train), _ = mnist
    assert received["images"] is x_train  # images only: no label array beside them
    assert len(received["index"]) == len(received["digits"]) == 10
    np.testing.assert_array_equal(received["digits"], y_train[received["index"]])
    stored = store.resolve("few-add")
    assert stored.metadata["labelled"] == {
        "count": 10,
        "per_class": 1,
        "indices_digest": few_label.indices_digest(received["index"]),
    }
    assert stored.lineage == {"add": 1, "autoencoder": 1}
    # one label per digit on the reader that learnt from sums: far above chance (10%)
    assert published.metrics["test_accuracy"] > 0.5
    pseudo = [row["pseudo_labels"] for row in stored.metadata["history"]]
    assert pseudo[0] == 0 and pseudo[1] < pseudo[2] < pseudo[3] <= len(x_train) - 10


@pytest.mark.slow
def test_clustering_first_teaches_the_shipped_add_reader_digits_from_one_label_each(
    tmp_path, mnist
):
    starter = Path(__file__).resolve().parents[2] / "starter"
    for name in ("add", "autoencoder"):  # the add head and the encoder it descends from
        shutil.copytree(starter / name, tmp_path / "store" / name)
    store = ArtifactStore(tmp_path / "store")
    params = {"reader": "add", "labels_per_class": 1, "cluster_rounds": 5}
    params |= {"read_from": "output", "consistency_steps": 0, "self_training_rounds": 2}
    reports = []
    monitor = Monitor(on_epoch=lambda *report: reports.append(report))
    published = pipeline.run_training(
        "few-add", params, store, kind="few-label", dataset=mnist, monitor=monitor
    )
    assert [(step, steps) for step, steps, _ in reports] == [(1, 3), (2, 3), (3, 3)]
    assert all(set(metrics) == {"loss", "pseudo_labels"} for _, _, metrics in reports)
    (x_train, _), _ = mnist
    # every unlabelled image is pseudo-labelled from the first fit on
    pseudo = [row["pseudo_labels"] for row in store.resolve("few-add").metadata["history"]]
    assert pseudo == [len(x_train) - 10] * 3
    # 4,000 images and 10 labels; the subset's 500 test digits
    assert published.metrics["test_accuracy"] >= 0.97


def test_a_reader_of_the_wrong_kind_is_refused(store, mnist):
    with pytest.raises(ValueError, match="cannot read with 'classifier', of kind classifier"):
        pipeline.run_training(
            "few", {"reader": "classifier"}, store, kind="few-label", dataset=mnist
        )
    assert store.kind_of("few") is None


def test_labels_per_class_is_bounded():
    with pytest.raises(ValueError, match="labels_per_class"):
        FewLabelParams(labels_per_class=0)
    with pytest.raises(ValueError, match="labels_per_class"):
        FewLabelParams(labels_per_class=6001)


def _starter_vae_reader():
    import keras

    from models.kinds import vae

    starter = Path(__file__).resolve().parents[2] / "starter" / "vae" / "1" / "model.keras"
    return vae.reader(keras.saving.load_model(starter, safe_mode=True))


@pytest.mark.slow
def test_consistency_steps_teach_more_than_the_labelled_images_alone(mnist):
    from models.training.evaluation import classifier_accuracy

    (x_train, y_train), (x_test, y_test) = mnist
    reader = _starter_vae_reader()
    before = [weights.copy() for weights in reader.get_weights()]
    chosen = few_label.choose_labelled(y_train, 10, seed=0)
    scores = {}
    for steps in (0, 300):
        params = FewLabelParams(consistency_steps=steps)
        trained = few_label.train_few_label(params, reader, x_train, chosen, y_train[chosen])
        scores[steps] = classifier_accuracy(trained.model, x_test, y_test)
    print(f"10 labels per digit on the VAE starter's maps, subset test digits: {scores}")
    # the 4,000 subset images, 100 of them labelled, read through the full-MNIST VAE;
    assert scores[300] >= scores[0] + 0.10  # measured: 0.748 and 0.938
    assert trained.history[-1]["pseudo_labels"] > 0.5 * len(x_train)
    for kept, now in zip(before, reader.get_weights(), strict=True):
        np.testing.assert_array_equal(kept, now)  # the reader only reads


def test_the_classifier_reads_the_reader_output_or_its_last_maps():
    reader = _starter_vae_reader()
    assert few_label.reading_network(reader, "output").output.shape[-1] == 16
    assert few_label.reading_network(reader, "features").output.shape[-1] == 7 * 7 * 64
    import keras

    flat = keras.Sequential([keras.Input((28, 28)), keras.layers.Reshape((784,))], name="flat")
    with pytest.raises(ValueError, match="'flat' has no convolutional maps"):
        few_label.reading_network(flat, "features")
