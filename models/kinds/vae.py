"""The `vae` kind: a convolutional variational autoencoder you can sample and walk.

The encoder maps an image to the mean and log-variance of a diagonal Gaussian over
the latent; a reparameterised sample goes through the decoder to sigmoid pixels. The
loss is the negative evidence lower bound: the binary cross-entropy summed over the
784 grey-level pixels plus the KL divergence from the standard normal prior, whose
weight warms up from 0 to 1 over the first epochs (without it the decoder learns to
ignore a latent that the KL term keeps squeezing towards the prior).

Published as one functional model `vae` (image -> mean, log_variance and the
reconstruction of the mean) holding two nested models, `encoder` and `decoder`,
all of standard Keras layers; the LiteRT export has `encode` and `decode`.
"""

from __future__ import annotations

import math
import time
from functools import partial

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from models.kinds.run import SAMPLES, Outcome, Run
from models.params import VaeParams
from models.training.evaluation import pixel_bce, predict
from models.training.fit import (
    Monitor,
    Trained,
    as_float_images,
    limit,
    optimizer,
    precision_build,
    seed_everything,
    split_validation,
)
from models.training.precision import in_float32, resolve

IMAGE_SHAPE = (28, 28)
PIXELS = 28 * 28
LOG_2PI = math.log(2.0 * math.pi)


def build_vae_encoder(latent_dim: int = 16, width: int = 64) -> keras.Model:
    """Three convolutions (the last two stride 2) and a dense layer, to a mean and log-variance."""
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be positive, got {latent_dim}")
    image = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = layers.Reshape((*IMAGE_SHAPE, 1))(image)
    x = layers.Conv2D(width // 2, 3, padding="same", activation="elu")(x)
    x = layers.Conv2D(width, 3, strides=2, padding="same", activation="elu")(x)
    x = layers.Conv2D(width, 3, strides=2, padding="same", activation="elu")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(512, activation="elu")(x)
    mean = layers.Dense(latent_dim, name="mean", dtype="float32")(x)
    log_variance = layers.Dense(latent_dim, name="log_variance", dtype="float32")(x)
    return keras.Model(image, [mean, log_variance], name="encoder")


def build_vae_decoder(latent_dim: int = 16, width: int = 64) -> keras.Model:
    """The encoder's mirror: dense layers to 7x7, two stride-2 transposed convolutions."""
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be positive, got {latent_dim}")
    latent = keras.Input(shape=(latent_dim,), name="latent")
    x = layers.Dense(512, activation="elu")(latent)
    x = layers.Dense(7 * 7 * width, activation="elu")(x)
    x = layers.Reshape((7, 7, width))(x)
    x = layers.Conv2DTranspose(width, 3, strides=2, padding="same", activation="elu")(x)
    x = layers.Conv2DTranspose(width // 2, 3, strides=2, padding="same", activation="elu")(x)
    logits = layers.Conv2D(1, 3, padding="same", name="logits", dtype="float32")(x)
    logits = layers.Reshape(IMAGE_SHAPE, name="pixel_logits", dtype="float32")(logits)
    pixels = layers.Activation("sigmoid", name="pixels", dtype="float32")(logits)
    return keras.Model(latent, [logits, pixels], name="decoder")


def build_vae(latent_dim: int = 16, width: int = 64) -> keras.Model:
    """Encoder and decoder joined: image -> mean, log_variance, reconstruction of the mean."""
    encoder = build_vae_encoder(latent_dim, width)
    decoder = build_vae_decoder(latent_dim, width)
    image = keras.Input(shape=IMAGE_SHAPE, name="image")
    mean, log_variance = encoder(image)
    _logits, pixels = decoder(mean)
    outputs = {"mean": mean, "log_variance": log_variance, "pixels": pixels}
    return keras.Model(image, outputs, name="vae")


def _bce_sum(targets: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Binary cross-entropy summed over each image's pixels, from logits (stable)."""
    losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits)
    return tf.reduce_sum(tf.reshape(losses, (tf.shape(losses)[0], -1)), axis=1)


def _kl(mean: tf.Tensor, log_variance: tf.Tensor) -> tf.Tensor:
    """KL(q(z|x) || N(0, I)) per image, in nats."""
    return 0.5 * tf.reduce_sum(tf.square(mean) + tf.exp(log_variance) - 1.0 - log_variance, axis=1)


def kl_weight(step: int, warmup_steps: int) -> float:
    """The KL term's weight at `step`: a linear ramp from 0 to 1 over `warmup_steps`."""
    if warmup_steps <= 0:
        return 1.0
    return min(1.0, step / warmup_steps)


def train_vae(
    params: VaeParams, train_images: np.ndarray, monitor: Monitor | None = None
) -> Trained:
    """Fit the VAE by minimising the negative ELBO on grey-level pixels (a custom loop).

    In mixed bfloat16 the layers compute in bfloat16 while the mean, log-variance,
    pixel logits and both loss terms stay float32; the model returned is float32."""
    monitor = monitor or Monitor()
    seed_everything(params.seed)
    started = time.perf_counter()
    images = as_float_images(limit(train_images, params))
    fit_index, val_index = split_validation(len(images), params)
    build = partial(build_vae, params.latent_dim, params.width)
    model = precision_build(build, params.precision)
    encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
    steps_per_epoch = math.ceil(len(fit_index) / params.batch_size)
    total_steps = steps_per_epoch * params.epochs
    warmup_steps = round(params.kl_warmup_epochs * steps_per_epoch)
    adam = optimizer(params, total_steps)
    variables = model.trainable_variables
    adam.build(variables)
    noise = tf.random.Generator.from_seed(params.seed)

    @tf.function(jit_compile=params.jit_compile, reduce_retracing=True)
    def train_step(batch: tf.Tensor, beta: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        epsilon = noise.normal((tf.shape(batch)[0], params.latent_dim))
        with tf.GradientTape() as tape:
            mean, log_variance = encoder(batch, training=True)
            z = mean + tf.exp(0.5 * log_variance) * epsilon
            logits, _pixels = decoder(z, training=True)
            reconstruction = _bce_sum(batch, logits)
            kl = _kl(mean, log_variance)
            loss = tf.reduce_mean(reconstruction + beta * kl)
        gradients = tape.gradient(loss, variables)
        adam.apply_gradients(zip(gradients, variables, strict=True))
        return tf.reduce_mean(reconstruction), tf.reduce_mean(kl)

    batches = (
        tf.data.Dataset.from_tensor_slices(images[fit_index])
        .shuffle(len(fit_index), seed=params.seed, reshuffle_each_iteration=True)
        .batch(params.batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    validation = images[val_index]
    history: list[dict[str, float]] = []
    step = 0
    for epoch in range(1, params.epochs + 1):
        totals = np.zeros(2)
        count = 0
        for batch in batches:
            beta = tf.constant(kl_weight(step, warmup_steps), tf.float32)
            reconstruction, kl = train_step(batch, beta)
            totals += (float(reconstruction), float(kl))
            count += 1
            step += 1
            monitor.check()
        scores = elbo_terms(encoder, decoder, validation, seed=params.seed)
        metrics = {
            "loss": float(totals.sum() / count),
            "reconstruction": float(totals[0] / count),
            "kl": float(totals[1] / count),
            "val_loss": scores["negative_elbo"],
            "val_reconstruction": scores["reconstruction"],
            "val_kl": scores["kl"],
        }
        history.append({"epoch": epoch, **metrics})
        if monitor.on_epoch is not None:
            monitor.on_epoch(epoch, params.epochs, metrics)
        monitor.raise_if_cancelled()
    elapsed = time.perf_counter() - started
    return Trained(in_float32(model, build), history, elapsed, resolve(params.precision))


def elbo_terms(
    encoder: keras.Model, decoder: keras.Model, images: np.ndarray, *, seed: int = 0
) -> dict[str, float]:
    """The negative ELBO per image (one posterior sample each) and its two terms, in nats.

    `images` are floats in [0, 1]: grey levels are the Bernoulli targets, as in training.
    """
    generator = tf.random.Generator.from_seed(seed)
    totals = np.zeros(2)
    for start in range(0, len(images), 1000):
        batch = tf.constant(images[start : start + 1000])
        mean, log_variance = encoder(batch, training=False)
        z = mean + tf.exp(0.5 * log_variance) * generator.normal(tf.shape(mean))
        logits, _pixels = decoder(z, training=False)
        totals += (
            float(tf.reduce_sum(_bce_sum(batch, logits))),
            float(tf.reduce_sum(_kl(mean, log_variance))),
        )
    reconstruction, kl = (float(total) for total in totals / len(images))
    return {"negative_elbo": reconstruction + kl, "reconstruction": reconstruction, "kl": kl}


def importance_weighted_nll(
    encoder: keras.Model,
    decoder: keras.Model,
    images: np.ndarray,
    *,
    samples: int = 100,
    seed: int = 0,
) -> float:
    """-log p(x) per image, estimated with `samples` importance samples from q(z|x).

    log p(x) >= log mean_k p(x|z_k) p(z_k) / q(z_k|x), tighter than the ELBO as k
    grows (Burda et al., 2016): the figure published VAEs report.
    """
    generator = tf.random.Generator.from_seed(seed)
    rows = max(1, 10_000 // samples)
    total = 0.0
    for start in range(0, len(images), rows):
        batch = tf.constant(images[start : start + rows])
        count = tf.shape(batch)[0]
        mean, log_variance = encoder(batch, training=False)
        epsilon = generator.normal((samples, count, mean.shape[-1]))
        z = mean[None] + tf.exp(0.5 * log_variance)[None] * epsilon
        logits, _pixels = decoder(tf.reshape(z, (-1, mean.shape[-1])), training=False)
        repeated = tf.tile(batch[None], (samples, 1, 1, 1))
        log_likelihood = -tf.reshape(
            _bce_sum(tf.reshape(repeated, (-1, *IMAGE_SHAPE)), logits), (samples, count)
        )
        log_prior = -0.5 * tf.reduce_sum(tf.square(z) + LOG_2PI, axis=2)
        log_posterior = -0.5 * tf.reduce_sum(
            tf.square(epsilon) + LOG_2PI + log_variance[None], axis=2
        )
        log_weights = log_likelihood + log_prior - log_posterior
        log_mean = tf.reduce_logsumexp(log_weights, axis=0) - math.log(samples)
        total += float(tf.reduce_sum(log_mean))
    return -total / len(images)


def evaluate(model: keras.Model, test_images: np.ndarray, *, iw_samples: int = 100) -> dict:
    """The test-set figures every VAE version records."""
    encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
    images = as_float_images(test_images)
    scores = elbo_terms(encoder, decoder, images, seed=1)
    mean, _log_variance = predict(encoder, images)
    _logits, pixels = predict(decoder, mean)
    return {
        "test_negative_elbo": scores["negative_elbo"],
        "test_kl": scores["kl"],
        "test_reconstruction_nats": scores["reconstruction"],
        "test_bce": pixel_bce(images, pixels),
        "test_iw_nll": importance_weighted_nll(encoder, decoder, images, samples=iw_samples),
    }


LATENT_RANGE = 5.0
"""Latents the decoder is asked about lie within this many prior standard deviations
(`/decode` accepts up to twice as far); the prior puts all but 6e-7 of its mass inside."""


def train(run: Run) -> Outcome:
    (x_train, _labels), (x_test, _test_labels) = run.dataset  # no label is used
    trained = train_vae(run.params, x_train, run.monitor)
    encoder = trained.model.get_layer("encoder")
    images = as_float_images(x_test[:SAMPLES])
    mean, _log_variance = encoder.predict(images, verbose=0)
    return Outcome(
        trained,
        evaluate(trained.model, x_test),
        {"encode": images, "decode": np.asarray(mean, np.float32)},
        metadata={
            "latent": {
                "length": run.params.latent_dim,
                "min": -LATENT_RANGE,
                "max": LATENT_RANGE,
                "prior": "standard normal",
            }
        },
    )


def reader(model: keras.Model) -> keras.Model:
    """What another model reads with: the encoder's mean, image -> latent."""
    encoder = model.get_layer("encoder")
    return keras.Model(encoder.input, encoder.output[0], name="vae_mean")


def endpoints(model: keras.Model) -> dict:
    encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")

    def encode(image):
        mean, log_variance = encoder(image, training=False)
        return {"latent": mean, "log_variance": log_variance}

    return {
        "encode": (encode, tf.TensorSpec([None, 28, 28], tf.float32, name="image")),
        "decode": (
            lambda latent: {"pixels": decoder(latent, training=False)[1]},
            tf.TensorSpec([None, encoder.output[0].shape[-1]], tf.float32, name="latent"),
        ),
    }
