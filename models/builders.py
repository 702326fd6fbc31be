"""Keras 3 functional builders for every model handcalc trains.

Images enter as `(N, 28, 28)` floats in [0, 1] with the ink high, as MNIST's
pixels divided by 255. Heads take both images of a pair at once as `(N, 2, 28, 28)`.
"""

from __future__ import annotations

import keras
from keras import layers

from models.ops import operation

IMAGE_SHAPE = (28, 28)


def _conv_block(x, filters: int, *, transpose: bool = False):
    """A stride-2 convolution (or transposed convolution), batch normalisation and ReLU."""
    convolution = layers.Conv2DTranspose if transpose else layers.Conv2D
    x = convolution(filters, 3, strides=2, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(momentum=0.9)(x)
    return layers.Activation("relu")(x)


def build_encoder(latent_dim: int = 100) -> keras.Model:
    """Two stride-2 convolutions with batch normalisation, and a sigmoid latent."""
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be positive, got {latent_dim}")
    image = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = layers.Reshape((*IMAGE_SHAPE, 1))(image)
    x = _conv_block(x, 32)
    x = _conv_block(x, 64)
    x = layers.Flatten()(x)
    latent = layers.Dense(latent_dim, activation="sigmoid", name="latent")(x)
    return keras.Model(image, latent, name="encoder")


def build_decoder(latent_dim: int = 100) -> keras.Model:
    """The encoder's mirror: a dense layer to 7x7x64, then two stride-2 transposed convs."""
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be positive, got {latent_dim}")
    latent = keras.Input(shape=(latent_dim,), name="latent")
    x = layers.Dense(7 * 7 * 64, use_bias=False)(latent)
    x = layers.BatchNormalization(momentum=0.9)(x)
    x = layers.Activation("relu")(x)
    x = layers.Reshape((7, 7, 64))(x)
    x = _conv_block(x, 64, transpose=True)
    x = _conv_block(x, 32, transpose=True)
    x = layers.Conv2D(1, 3, padding="same", activation="sigmoid")(x)
    pixels = layers.Reshape(IMAGE_SHAPE, name="pixels")(x)
    return keras.Model(latent, pixels, name="decoder")


def build_autoencoder(latent_dim: int = 100) -> keras.Model:
    """Encoder and decoder joined; each stays reachable with `get_layer`."""
    encoder = build_encoder(latent_dim)
    decoder = build_decoder(latent_dim)
    image = keras.Input(shape=IMAGE_SHAPE, name="image")
    return keras.Model(image, decoder(encoder(image)), name="autoencoder")


def build_classifier(dropout: float = 0.3) -> keras.Model:
    """A small CNN for the ten digits: three conv blocks with batch normalisation.

    Each block halves the resolution before the next widens the channels, which
    keeps a forward pass near 7.6 million multiply-adds (cheap to serve in batches).
    """
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    image = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = layers.Reshape((*IMAGE_SHAPE, 1))(image)
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(dropout)(x)
    probabilities = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(image, probabilities, name="classifier")


def build_head(
    operation_name: str,
    encoder: keras.Model,
    hidden_units: int = 256,
    hidden_layers: int = 2,
) -> keras.Model:
    """A head over a pair of images, trained only on the operation's result.

    Each image goes through the head's own copy of `encoder` (the reader, which
    training fine-tunes from the results alone), then through one dense tower
    shared by both digits, so each is read the same way wherever it stands; the
    layers after it see both readings together, which order-sensitive operations
    need. The encoder passed in is copied, never changed.
    """
    op = operation(operation_name)
    if hidden_layers < 1 or hidden_units < 1:
        raise ValueError("a head needs at least one hidden layer of at least one unit")
    reader = keras.models.clone_model(encoder)
    reader.set_weights(encoder.get_weights())
    images = keras.Input(shape=(2, *IMAGE_SHAPE), name="images")
    readings = layers.TimeDistributed(reader, name="reader")(images)
    x = layers.Dense(hidden_units, activation="relu", name="shared_tower")(readings)
    x = layers.Flatten()(x)
    for index in range(hidden_layers):
        x = layers.Dense(hidden_units, activation="relu", name=f"hidden_{index}")(x)
    outputs = {
        output: layers.Dense(
            classes,
            activation="sigmoid" if classes == 1 else "softmax",
            name=output,
        )(x)
        for output, classes in op.outputs.items()
    }
    return keras.Model(images, outputs, name=f"{op.name}_head")
