import inspect
import shutil

import keras
import numpy as np
import pytest

from models.artifacts.catalog import KERAS_FILE, LITERT_FILE
from models.artifacts.registry import ArtifactStore
from models.kinds import KINDS
from models.kinds import head as head_kind
from models.kinds.run import SAMPLES
from models.ops import draw_pairs, operation
from models.params import HeadParams
from models.runtime import LiteModel
from models.training import pipeline
from models.training.builders import head_reader
from models.training.export import decisions
from models.training.fit import (
    Monitor,
    PairResults,
    TrainingCancelled,
    split_validation,
    train_head,
)


@pytest.fixture()
def store(trained_root, tmp_path):
    """A private copy of the trained store, free to change."""
    shutil.copytree(trained_root, tmp_path / "store")
    return ArtifactStore(tmp_path / "store")


def test_every_model_is_published_active_with_metrics_and_lineage(trained_root):
    store = ArtifactStore(trained_root)
    autoencoder = store.resolve("autoencoder")
    assert autoencoder.metadata["metrics"]["test_bce"] < 0.2
    assert autoencoder.metadata["latent"] == {"length": 32, "min": 0.0, "max": 1.0}
    assert store.resolve("classifier").metadata["metrics"]["test_accuracy"] > 0.9
    add = store.resolve("add")
    lineage = {"autoencoder": autoencoder.version}
    # multiply and compare read with the add head's reader, and descend from its encoder
    for head, expected in [("add", lineage), ("multiply", {"add": add.version, **lineage})]:
        assert store.resolve(head).lineage == expected
    assert store.resolve("compare").lineage == store.resolve("multiply").lineage
    for head in ("add", "multiply", "compare"):
        stored = store.resolve(head)
        assert stored.metadata["data"]["digest"] == autoencoder.metadata["data"]["digest"]
        assert len(stored.metadata["history"]) >= 1
    # chance is about 1/19 for add, 1/2 for compare: these heads have learnt something
    assert store.resolve("add").metadata["metrics"]["test_accuracy"] > 0.3
    assert store.resolve("compare").metadata["metrics"]["test_accuracy"] > 0.8


@pytest.mark.parametrize("name", ["autoencoder", "classifier", "add", "compare"])
def test_keras_and_litert_agree(trained_root, digits, name):
    """A float32 export gives Keras' outputs; an int8 one (kinds that serve decisions)
    takes Keras' decisions on the test images the pipeline checked it on. Which one a head
    trained on the subset gets depends on the machine that trained it (one run on a 2-core
    EPYC published the add head in float32, its int8 export short of the agreement bar);
    the classifier's int8 path is tested in test_export."""
    stored = ArtifactStore(trained_root).resolve(name)
    model = keras.saving.load_model(stored.file(KERAS_FILE), safe_mode=True, compile=False)
    lite = LiteModel(stored.file(LITERT_FILE))
    assert set(lite.signatures) == set(KINDS[name].signatures)
    images = (digits[0] / 255.0).astype(np.float32)
    if name == "autoencoder":
        assert stored.metadata["litert_weights"] == "float32"
        latents = np.asarray(model.get_layer("encoder")(images))
        assert np.abs(lite.run("encode", image=images)["latent"] - latents).max() < 1e-4
        pixels = np.asarray(model.get_layer("decoder")(latents))
        assert np.abs(lite.run("decode", latent=latents)["pixels"] - pixels).max() < 1e-4
        return
    if name == "classifier":
        outputs = [(np.asarray(model(images)), lite.run("classify", image=images)["probabilities"])]
    else:
        # the pairs the pipeline checked the export on: the head's own samples
        pairs = images[draw_pairs(SAMPLES, len(images), seed=1)]
        actual = lite.run("predict", images=pairs)
        outputs = [(np.asarray(value), actual[key]) for key, value in model(pairs).items()]
    if stored.metadata["litert_weights"] == "float32":
        for expected, got in outputs:
            assert np.abs(expected - got).max() < pipeline.LITERT_TOLERANCE
        return
    assert stored.metadata["litert_weights"] == "int8"
    assert stored.metadata["litert_decision_agreement"] >= pipeline.MIN_AGREEMENT
    # counted as the pipeline counts it: every decision of every output together
    same = np.concatenate([(decisions(e) == decisions(g)).ravel() for e, g in outputs])
    assert same.mean() >= pipeline.MIN_AGREEMENT
    for expected, got in outputs:
        assert np.abs(expected - got).max() < 0.1  # int8 weights: close, not equal


def test_cancelled_training_publishes_nothing(store, mnist):
    epochs_seen = []
    monitor = Monitor(
        on_epoch=lambda epoch, epochs, metrics: epochs_seen.append(epoch),
        should_stop=lambda: bool(epochs_seen),
        poll_interval_s=0.0,
    )
    with pytest.raises(TrainingCancelled):
        pipeline.run_training(
            "compare", {"epochs": 5, "pairs": 2000}, store, dataset=mnist, monitor=monitor
        )
    assert epochs_seen == [1]
    assert [v.version for v in store.versions("compare")] == [1]
    assert sorted(p.name for p in (store.root / "compare").iterdir()) == ["1", "active"]


def test_head_on_an_older_encoder_records_that_lineage(store, mnist):
    pipeline.run_training(
        "autoencoder", {"epochs": 1, "latent_dim": 8, "train_limit": 1000}, store, dataset=mnist
    )
    assert store.active_version("autoencoder") == 2
    published = pipeline.run_training(
        "compare",
        {"epochs": 1, "pairs": 1000, "reader": "autoencoder", "train_reader": True},
        store,
        dataset=mnist,
        encoder_version=1,
        activate=False,
    )
    assert published.version == 2 and published.lineage == {"autoencoder": 1}
    assert store.active_version("compare") == 1  # not activated
    head = keras.saving.load_model(
        store.get("compare", 2).file(KERAS_FILE), safe_mode=True, compile=False
    )
    # its reader started from encoder v1, whose latent has 32 values (v2's has 8)
    assert head.get_layer("reader").layer.output.shape == (None, 32)


def test_a_head_can_read_with_another_heads_reader_as_it_is(store, mnist):
    add = keras.saving.load_model(store.resolve("add").file(KERAS_FILE), compile=False)
    published = pipeline.run_training(
        "multiply", {"epochs": 1, "pairs": 2000}, store, dataset=mnist, activate=False
    )
    assert published.lineage == {"add": 1, "autoencoder": 1}
    multiply = keras.saving.load_model(
        store.get("multiply", published.version).file(KERAS_FILE), compile=False
    )
    before = head_reader(add).get_weights()
    after = head_reader(multiply).get_weights()
    assert len(before) == len(after) == 8  # three folded convolutions and the latent layer
    for original, kept in zip(before, after, strict=True):
        np.testing.assert_array_equal(original, kept)


def test_a_version_for_the_wrong_kind_of_reader_is_refused(store, mnist):
    with pytest.raises(ValueError, match=r"add head's reader \(reader_version picks"):
        pipeline.run_training(
            "compare", {"epochs": 1, "pairs": 1000}, store, dataset=mnist, encoder_version=1
        )
    with pytest.raises(ValueError, match="encoder_version picks the autoencoder's version"):
        pipeline.run_training(
            "add", {"epochs": 1, "pairs": 1000}, store, dataset=mnist, reader_version=1
        )
    assert [v.version for v in store.versions("compare")] == [1]


def test_heads_are_trained_on_the_operations_results_alone(store, mnist, monkeypatch):
    assert "labels" not in inspect.signature(train_head).parameters
    received = {}

    def spy(name, params, encoder, images, train, validation, monitor=None):
        received.update(images=images, train=train, validation=validation)
        return train_head(name, params, encoder, images, train, validation, monitor)

    monkeypatch.setattr(head_kind, "train_head", spy)
    pipeline.run_training("add", {"epochs": 2, "pairs": 1500}, store, dataset=mnist)
    (x_train, y_train), _ = mnist
    assert received["images"] is x_train  # the images alone, no labels beside them
    train, validation = received["train"], received["validation"]
    assert vars(train).keys() == {"pairs", "results"}
    assert len(train.pairs) == 2 * 1500  # fresh pairs for each epoch
    assert set(np.unique(train.results)) == set(range(19))
    for part in (train, validation):
        np.testing.assert_array_equal(
            part.results, y_train[part.pairs[:, 0]] + y_train[part.pairs[:, 1]]
        )
    # validation pairs are drawn from images that training never sees
    assert not set(train.pairs.ravel()) & set(validation.pairs.ravel())


def test_head_params_bound_the_pairs_drawn():
    with pytest.raises(ValueError, match="epochs x pairs is 40,000,000"):
        HeadParams(epochs=20, pairs=2_000_000)


def test_same_seed_same_head(store, mnist):
    stored = store.resolve("autoencoder")
    model = keras.saving.load_model(stored.file(KERAS_FILE), safe_mode=True, compile=False)
    encoder = model.get_layer("encoder")
    (images, labels), _ = mnist
    pairs = np.random.default_rng(0).integers(0, 1000, (3000, 2))
    sums = operation("add").apply(labels[pairs[:, 0]], labels[pairs[:, 1]])
    train = PairResults(pairs[:2000], sums[:2000])
    validation = PairResults(pairs[2000:], sums[2000:])
    params = HeadParams(epochs=2, pairs=1000, seed=7)
    first = train_head("add", params, encoder, images, train, validation)
    second = train_head("add", params, encoder, images, train, validation)
    assert first.history == second.history


def test_a_head_with_its_own_seed_never_validates_on_its_readers_training_images(mnist):
    (_, labels), _ = mnist
    multiply_train, multiply_validation = head_kind.pair_results(
        "multiply", HeadParams(epochs=1, pairs=1_000, seed=11), labels
    )
    add_fit, _ = split_validation(len(labels), HeadParams())  # the add head's seed, 0
    assert not np.isin(multiply_validation.pairs, add_fit).any()
    expected = labels[multiply_train.pairs[:, 0]] * labels[multiply_train.pairs[:, 1]]
    np.testing.assert_array_equal(multiply_train.results, expected)
