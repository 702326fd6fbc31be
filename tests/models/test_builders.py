import keras
import numpy as np
import pytest
from keras import layers

from models.artifacts.registry import ArtifactStore
from models.training.builders import (
    build_autoencoder,
    build_classifier,
    build_decoder,
    build_encoder,
    build_head,
    fold_batch_norm,
)
from models.training.pipeline import load_keras_model


def test_autoencoder_shapes():
    autoencoder = build_autoencoder(latent_dim=24)
    images = np.random.default_rng(0).random((3, 28, 28), dtype=np.float32)
    assert autoencoder.name == "autoencoder"
    assert autoencoder.get_layer("encoder")(images).shape == (3, 24)
    reconstruction = np.asarray(autoencoder(images))
    assert reconstruction.shape == (3, 28, 28)
    assert reconstruction.min() >= 0.0 and reconstruction.max() <= 1.0
    assert build_decoder(24)(np.zeros((2, 24), np.float32)).shape == (2, 28, 28)


def test_encoder_sees_full_resolution_before_it_downsamples():
    encoder = build_encoder(24)
    convolutions = [layer for layer in encoder.layers if isinstance(layer, layers.Conv2D)]
    assert [tuple(layer.output.shape[1:3]) for layer in convolutions] == [
        (28, 28),
        (14, 14),
        (7, 7),
    ]


def test_classifier_gives_a_distribution_over_ten_digits():
    probabilities = np.asarray(build_classifier()(np.zeros((4, 28, 28), np.float32)))
    assert probabilities.shape == (4, 10)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_the_classifiers_width_sets_its_channels():
    narrow = build_classifier(width=16)
    convolutions = [layer for layer in narrow.layers if isinstance(layer, layers.Conv2D)]
    assert [layer.filters for layer in convolutions] == [16, 32, 64]
    assert narrow.count_params() < build_classifier().count_params() / 2
    assert np.asarray(narrow(np.zeros((2, 28, 28), np.float32))).shape == (2, 10)


@pytest.mark.parametrize(
    ("name", "outputs"),
    [
        ("add", {"units": 10, "tens": 2}),
        ("multiply", {"units": 10, "tens": 9}),
        ("compare", {"greater": 1}),
    ],
)
def test_heads_take_two_images_and_read_them_with_a_copy_of_the_encoder(name, outputs, digits):
    encoder = build_encoder(16)
    before = [weights.copy() for weights in encoder.get_weights()]
    head = build_head(name, encoder, hidden_units=32)
    result = head(np.zeros((5, 2, 28, 28), np.float32))
    assert {key: tuple(value.shape) for key, value in result.items()} == {
        key: (5, size) for key, size in outputs.items()
    }
    reader = head.get_layer("reader").layer
    assert reader is not encoder and not _batch_norms(reader)
    images = (digits[0][:32] / 255.0).astype(np.float32)
    np.testing.assert_allclose(reader(images), encoder(images), atol=1e-5)  # reads the same
    reader.layers[-1].kernel.assign(np.zeros(reader.layers[-1].kernel.shape))
    for kept, original in zip(encoder.get_weights(), before, strict=True):
        np.testing.assert_array_equal(kept, original)  # fine-tuning the copy leaves it alone


def test_folding_batch_norm_keeps_a_trained_encoder_s_readings(trained_root, digits):
    model, _ = load_keras_model(ArtifactStore(trained_root), "autoencoder")
    encoder = model.get_layer("encoder")
    folded = fold_batch_norm(encoder)
    assert len(_batch_norms(encoder)) == 3 and not _batch_norms(folded)
    assert folded.count_params() < encoder.count_params()  # no moving statistics left
    images = (digits[0] / 255.0).astype(np.float32)
    expected = encoder.predict(images, verbose=0)
    np.testing.assert_allclose(folded.predict(images, verbose=0), expected, atol=1e-5)


def test_folding_refuses_a_model_that_is_not_a_chain():
    image = keras.Input(shape=(28, 28))
    branch = keras.Model(image, layers.Add()([layers.Dense(4)(image), layers.Dense(4)(image)]))
    with pytest.raises(ValueError, match="not a chain of layers"):
        fold_batch_norm(branch)


def _batch_norms(model):
    return [layer for layer in model.layers if isinstance(layer, layers.BatchNormalization)]


def test_builders_refuse_bad_arguments():
    with pytest.raises(ValueError, match="latent_dim must be positive"):
        build_encoder(0)
    with pytest.raises(ValueError, match="dropout"):
        build_classifier(1.5)
    with pytest.raises(ValueError, match="width must be positive"):
        build_classifier(width=0)
    with pytest.raises(ValueError, match="unknown operation 'divide'"):
        build_head("divide", build_encoder(4))
