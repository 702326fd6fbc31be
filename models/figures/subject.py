"""What a version's figures are drawn from: its Keras model, its metadata and the test set.

Predictions that several figures share (a classifier's probabilities, an autoencoder's
latents) are computed once, when the first figure asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import keras
import numpy as np

from models.training.evaluation import predict
from models.training.fit import as_float_images

MAP_IMAGES = 2_000
"""Test images placed on a latent map: enough to see the clusters, quick to draw."""


@dataclass
class Subject:
    """One version to draw: `images` (uint8) and `labels` are the test split; the labels
    colour and score the pictures and never train anything."""

    name: str
    kind: str
    model: keras.Model
    metadata: dict[str, Any]
    images: np.ndarray
    labels: np.ndarray

    @property
    def title(self) -> str:
        """The name, and its kind when that differs."""
        return self.name if self.name == self.kind else f"{self.name} ({self.kind})"

    @cached_property
    def probabilities(self) -> np.ndarray:
        """A classifier's `(N, 10)` probabilities for every test image."""
        return np.asarray(predict(self.model, as_float_images(self.images)), np.float64)

    @cached_property
    def encoder(self) -> keras.Model:
        return self.model.get_layer("encoder")

    @cached_property
    def decoder(self) -> keras.Model:
        return self.model.get_layer("decoder")

    def encode(self, images: np.ndarray) -> np.ndarray:
        """Latents of uint8 images (a VAE's mean)."""
        latents = predict(self.encoder, as_float_images(images))
        if isinstance(latents, list | tuple):  # a VAE's encoder: mean and log-variance
            latents = latents[0]
        return np.asarray(latents, np.float32)

    def decode(self, latents: np.ndarray) -> np.ndarray:
        """Pixels `(N, 28, 28)` in [0, 1] for latents."""
        pixels = predict(self.decoder, np.asarray(latents, np.float32))
        if isinstance(pixels, list | tuple):  # a VAE's decoder: logits and pixels
            pixels = pixels[-1]
        return np.asarray(pixels, np.float32)

    @cached_property
    def map_sample(self) -> np.ndarray:
        """Indices of the test images a latent map shows (at most `MAP_IMAGES`)."""
        return np.arange(min(MAP_IMAGES, len(self.images)))

    @cached_property
    def latents(self) -> np.ndarray:
        """Latents of the map's test images."""
        return self.encode(self.images[self.map_sample])

    @property
    def latent_length(self) -> int:
        return int(self.latents.shape[1])
