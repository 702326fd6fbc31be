"""The VAE: its loss terms, its metrics on real test digits, its export."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from models.artifacts.catalog import KERAS_FILE, LITERT_FILE
from models.artifacts.registry import ArtifactStore
from models.kinds import vae
from models.params import VaeParams
from models.runtime import LiteModel


def test_the_kl_weight_warms_up_linearly():
    assert [vae.kl_weight(step, 4) for step in range(6)] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    assert vae.kl_weight(0, 0) == 1.0


def test_the_kl_term_is_zero_at_the_prior_and_positive_elsewhere():
    zeros = tf.zeros((2, 3))
    np.testing.assert_allclose(vae._kl(zeros, zeros).numpy(), [0.0, 0.0])
    # KL(N(1, 1) || N(0, 1)) = 1/2 per dimension
    np.testing.assert_allclose(vae._kl(tf.ones((1, 4)), tf.zeros((1, 4))).numpy(), [2.0])


def test_the_trained_vae_records_its_figures(trained_root):
    stored = ArtifactStore(trained_root).resolve("vae")
    metrics = stored.metadata["metrics"]
    assert metrics["test_negative_elbo"] == pytest.approx(
        metrics["test_reconstruction_nats"] + metrics["test_kl"]
    )
    assert metrics["test_kl"] > 1.0  # the latent carries information
    # importance weighting tightens the bound: within the ELBO, plus sampling noise
    assert metrics["test_iw_nll"] < metrics["test_negative_elbo"] + 1.0
    # every pixel at the training mean scores 199.2 nats on these test digits; it has learnt
    assert metrics["test_negative_elbo"] < 180
    assert stored.metadata["latent"]["length"] == 8
    assert stored.metadata["kind"] == "vae"


def test_the_export_encodes_and_decodes_as_keras_does(trained_root, digits):
    stored = ArtifactStore(trained_root).resolve("vae")
    model = keras.saving.load_model(stored.file(KERAS_FILE), safe_mode=True)
    lite = LiteModel(stored.file(LITERT_FILE))
    images = (digits[0][:16] / 255.0).astype(np.float32)
    encoded = lite.run("encode", image=images)
    mean, log_variance = model.get_layer("encoder")(images)
    np.testing.assert_allclose(encoded["latent"], mean, atol=1e-4)
    np.testing.assert_allclose(encoded["log_variance"], log_variance, atol=1e-4)
    decoded = lite.run("decode", latent=encoded["latent"])["pixels"]
    np.testing.assert_allclose(decoded, model(images)["pixels"], atol=1e-4)


def test_the_elbo_terms_are_plain_floats_that_add_up(digits):
    model = vae.build_vae(latent_dim=4, width=16)
    images = (digits[0][:32] / 255.0).astype(np.float32)
    terms = vae.elbo_terms(model.get_layer("encoder"), model.get_layer("decoder"), images)
    assert all(type(value) is float for value in terms.values())
    assert terms["negative_elbo"] == pytest.approx(terms["reconstruction"] + terms["kl"])


def test_a_vae_trained_in_bfloat16_is_returned_in_float32(mnist):
    (train_images, _labels), (test_images, _test_labels) = mnist
    params = VaeParams(
        epochs=3,
        batch_size=32,
        train_limit=2048,
        latent_dim=4,
        width=16,
        precision="mixed_bfloat16",
    )
    trained = vae.train_vae(params, train_images)
    assert trained.precision == "mixed_bfloat16"
    encoder, decoder = trained.model.get_layer("encoder"), trained.model.get_layer("decoder")
    assert {layer.compute_dtype for layer in encoder.layers + decoder.layers} == {"float32"}
    images = (test_images[:256] / 255.0).astype(np.float32)
    # what a VAE scores that draws every image as the training mean, with no latent at all
    mean = np.clip((train_images[:2048] / 255.0).mean(axis=0), 1e-6, 1 - 1e-6)
    at_mean = -(images * np.log(mean) + (1 - images) * np.log(1 - mean)).sum(axis=(1, 2)).mean()
    assert vae.elbo_terms(encoder, decoder, images)["negative_elbo"] < at_mean - 20
    assert trained.history[-1]["val_loss"] < trained.history[0]["val_loss"]
