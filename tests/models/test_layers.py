import keras
import numpy as np
import pytest
from keras import layers

from models.training.layers import FusedBatchNormalization


def _pair(shape):
    """A Keras batch normalisation and a fused one with the same (non-trivial) weights."""
    rng = np.random.default_rng(7)
    plain = layers.BatchNormalization(momentum=0.8)
    fused = FusedBatchNormalization(momentum=0.8)
    plain.build(shape)
    fused.build(shape)
    channels = shape[-1]
    weights = [
        rng.uniform(0.5, 2.0, channels).astype(np.float32),  # gamma
        rng.normal(size=channels).astype(np.float32),  # beta
        rng.normal(size=channels).astype(np.float32),  # moving mean
        rng.uniform(0.5, 2.0, channels).astype(np.float32),  # moving variance
    ]
    plain.set_weights(weights)
    fused.set_weights(weights)
    return plain, fused


@pytest.mark.parametrize("shape", [(16, 7, 5, 3), (32, 12)])
def test_fused_training_step_matches_keras(shape):
    plain, fused = _pair(shape)
    batch = np.random.default_rng(1).normal(2.0, 3.0, shape).astype(np.float32)
    expected = np.asarray(plain(batch, training=True))
    got = np.asarray(fused(batch, training=True))
    assert got.shape == batch.shape
    np.testing.assert_allclose(got, expected, atol=1e-4)
    # the moving averages moved the same way, by the biased batch variance
    for kept, reference in zip(fused.get_weights()[2:], plain.get_weights()[2:], strict=True):
        np.testing.assert_allclose(kept, reference, rtol=1e-5, atol=1e-6)
    assert not np.allclose(fused.get_weights()[2], _pair(shape)[1].get_weights()[2])


def test_fused_gradients_match_keras():
    plain, fused = _pair((8, 6, 6, 4))
    batch = keras.ops.convert_to_tensor(np.random.default_rng(2).normal(size=(8, 6, 6, 4)))
    import tensorflow as tf

    def gradients(layer):
        with tf.GradientTape() as tape:
            tape.watch(batch)
            loss = tf.reduce_sum(tf.sin(layer(batch, training=True)))
        return tape.gradient(loss, [batch, layer.gamma.value, layer.beta.value])

    for got, expected in zip(gradients(fused), gradients(plain), strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(expected), atol=1e-4)


def test_inference_and_masks_run_keras_own_code():
    plain, fused = _pair((5, 3))
    batch = np.random.default_rng(3).normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(fused(batch)), np.asarray(plain(batch)), atol=1e-6)
    mask = np.array([True, True, False, True, True])
    np.testing.assert_allclose(
        np.asarray(fused(batch, training=True, mask=mask)),
        np.asarray(plain(batch, training=True, mask=mask)),
        atol=1e-5,
    )


def test_fused_layer_saves_and_loads_by_name(tmp_path):
    image = keras.Input(shape=(4, 4, 2))
    model = keras.Model(image, FusedBatchNormalization(name="norm")(image))
    model.get_layer("norm").set_weights([np.full(2, 2.0, np.float32)] * 4)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert type(loaded.get_layer("norm")) is FusedBatchNormalization
    batch = np.ones((1, 4, 4, 2), np.float32)
    np.testing.assert_allclose(np.asarray(loaded(batch)), np.asarray(model(batch)))
