import keras
import numpy as np
import pytest

from models.artifacts.catalog import KERAS_FILE, LITERT_FILE
from models.artifacts.registry import ArtifactStore
from models.kinds import KINDS
from models.kinds import classifier as classifier_kind
from models.runtime import LiteModel
from models.training import pipeline
from models.training.export import compare_export, decisions, export_litert


@pytest.fixture(scope="module")
def classifier(trained_root):
    stored = ArtifactStore(trained_root).resolve("classifier")
    return keras.saving.load_model(stored.file(KERAS_FILE), safe_mode=True, compile=False), stored


def test_int8_weights_make_a_smaller_export_that_reads_the_test_digits_alike(classifier, digits):
    model, _ = classifier
    signatures, endpoints = KINDS["classifier"].signatures, classifier_kind.endpoints(model)
    float_export = export_litert(model, signatures, endpoints)
    int8_export = export_litert(model, signatures, endpoints, quantize=True)
    assert len(int8_export) < len(float_export) / 3  # the weights are most of the file
    images = (digits[0] / 255.0).astype(np.float32)
    check = compare_export(signatures, endpoints, int8_export, {"classify": images})
    assert check.agreement >= pipeline.MIN_AGREEMENT
    assert 0 < check.max_abs_diff < 0.1  # int8 weights: close to Keras, not equal
    exact = compare_export(signatures, endpoints, float_export, {"classify": images})
    assert exact.agreement == 1.0 and exact.max_abs_diff < pipeline.LITERT_TOLERANCE
    float_answers = LiteModel(float_export).run("classify", image=images)["probabilities"]
    int8_answers = LiteModel(int8_export).run("classify", image=images)["probabilities"]
    labels = digits[1]
    float_accuracy = (float_answers.argmax(axis=1) == labels).mean()
    assert abs((int8_answers.argmax(axis=1) == labels).mean() - float_accuracy) <= 0.004


def test_an_int8_answer_does_not_depend_on_the_rest_of_its_batch(classifier, digits):
    """Activations are quantized image by image: micro-batching never changes an answer."""
    _, stored = classifier
    assert stored.metadata["litert_weights"] == "int8"
    lite = LiteModel(stored.file(LITERT_FILE))
    images = (digits[0][:32] / 255.0).astype(np.float32)
    alone = np.concatenate(
        [lite.run("classify", image=image[None])["probabilities"] for image in images]
    )
    together = lite.run("classify", image=images)["probabilities"]
    faint = images.copy()
    faint[1:] *= 0.2  # the others' ink far weaker: a batch-wide scale would shift the first
    beside_faint = lite.run("classify", image=faint)["probabilities"][0]
    np.testing.assert_array_equal(alone, together)
    np.testing.assert_array_equal(alone[0], beside_faint)


def test_int8_weights_that_change_decisions_are_not_published(classifier, digits, monkeypatch):
    model, _ = classifier
    samples = {"classify": (digits[0] / 255.0).astype(np.float32)}
    endpoints = classifier_kind.endpoints(model)
    flatbuffer, check = pipeline._export(
        "classifier", KINDS["classifier"], model, endpoints, samples
    )
    assert check["litert_weights"] == "int8"
    monkeypatch.setattr(pipeline, "MIN_AGREEMENT", 1.01)  # no export can agree that much
    flatbuffer, check = pipeline._export(
        "classifier", KINDS["classifier"], model, endpoints, samples
    )
    assert check["litert_weights"] == "float32"
    assert check["litert_max_abs_diff"] < pipeline.LITERT_TOLERANCE
    expected = np.asarray(model(samples["classify"]))
    actual = LiteModel(flatbuffer).run("classify", image=samples["classify"])["probabilities"]
    assert np.abs(actual - expected).max() < pipeline.LITERT_TOLERANCE


def test_decisions_are_the_most_probable_class_or_a_probability_over_one_half():
    np.testing.assert_array_equal(decisions(np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])), [1, 0])
    np.testing.assert_array_equal(decisions(np.array([[0.7], [0.2]])), [True, False])
