"""The kind table: every kind trains, exports and serves through one row and one module."""

import importlib

import pytest
from pydantic import ValidationError

from models.artifacts.names import InvalidModelName, check_name
from models.artifacts.registry import ArtifactStore, Conflict
from models.job_spec import TrainingJob
from models.kinds import DEFAULT_MODELS, KINDS, KindConflict, default_kind, get_kind


def test_every_kind_has_a_module_that_trains_and_exports_it():
    for kind in KINDS.values():
        module = importlib.import_module(kind.implementation)
        assert callable(module.train) and callable(module.endpoints), kind.name
        assert kind.serves, kind.name
        for source in kind.reads_with:  # what it reads with lends a reader
            assert callable(importlib.import_module(KINDS[source].implementation).reader)
        kind.validate_params()  # the defaults are valid
    for model in DEFAULT_MODELS:
        kind = get_kind(model.kind)
        kind.validate_params(model.params)
        if kind.reads_with:  # what it reads with is trained before it
            reader = kind.validate_params(model.params).reader
            names = [m.name for m in DEFAULT_MODELS]
            assert names.index(reader) < names.index(model.name)


def test_unknown_kinds_are_refused_with_the_list():
    with pytest.raises(ValueError, match="unknown kind 'gan'; the kinds are autoencoder, vae"):
        get_kind("gan")


@pytest.mark.parametrize("name", ["a", "classifier-dense", "few-label", "x" * 40, "2nd"])
def test_good_names(name):
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "x" * 41, "Dense", "my_model", "-a", "a/b", "..", "é", 3])
def test_bad_names(name):
    with pytest.raises(InvalidModelName, match="1 to 40 lowercase letters, digits or hyphens"):
        check_name(name)


def test_a_job_knows_a_shipped_names_kind_and_asks_for_a_new_ones():
    assert TrainingJob(model="add").bind(None).kind == "add"
    assert default_kind("classifier-dense") == "classifier"
    dense = TrainingJob(model="classifier-dense").bind(None)
    assert dense.params["architecture"] == "cnn"  # the params are the job's own, defaults aside
    with pytest.raises(ValueError, match="'mine' is new: say what it is with 'kind'"):
        TrainingJob(model="mine").bind(None)
    bound = TrainingJob(model="mine", params={"epochs": 2}).bind("vae")
    assert bound.kind == "vae" and bound.params["latent_dim"] == 16
    with pytest.raises(
        KindConflict, match="'mine' is of kind vae; a classifier version cannot be added"
    ):
        TrainingJob(model="mine", kind="classifier").bind("vae")


def test_the_store_keeps_a_names_kind(tmp_path):
    store = ArtifactStore(tmp_path)
    with store.stage("mine") as staging:
        (staging / "weights").write_text("1")
        store.publish("mine", staging, {"kind": "vae"})
    assert store.kind_of("mine") == "vae"
    with store.stage("mine") as staging:
        (staging / "weights").write_text("2")
        with pytest.raises(Conflict, match="'mine' is of kind vae; a classifier cannot"):
            store.publish("mine", staging, {"kind": "classifier"})
    assert [v.version for v in store.versions("mine")] == [1]
    assert store.kind_of("nothing") is None


def test_versions_from_before_kinds_were_recorded_keep_their_names_kind(tmp_path):
    store = ArtifactStore(tmp_path)
    with store.stage("compare") as staging:
        (staging / "weights").write_text("1")
        store.publish("compare", staging, {})
    assert store.kind_of("compare") == "compare"


def test_few_label_refuses_mixed_precision_rather_than_ignore_it():
    """Its loop has no mixed precision: it trains in float32, and asking for bfloat16 is
    an error that says so (the VAE's loop has it, and takes every precision)."""
    assert KINDS["few-label"].validate_params({"precision": "auto"}).precision == "auto"
    with pytest.raises(ValidationError, match="float32"):
        KINDS["few-label"].validate_params({"precision": "mixed_bfloat16"})
    for choice in ("auto", "float32", "mixed_bfloat16"):
        assert KINDS["vae"].validate_params({"precision": choice}).precision == choice
