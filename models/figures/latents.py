"""An autoencoder's or a VAE's pictures: reconstructions, the map of its latent space, and
for a VAE, samples from its prior and a sweep across its latent space."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from models.figures.render import DIGIT_COLOURS, digit_sheet, new_figure, show_digit
from models.figures.subject import Subject

RECONSTRUCTED = 12
SAMPLES_SIDE = 8
MANIFOLD_SIDE = 12
SWEEP_DEVIATIONS = 2.0
"""The manifold sweep spans this many standard deviations either side of the centre."""
SAMPLES_SEED = 0


def principal_directions(latents: np.ndarray, count: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """The mean of `latents` `(N, L)` and their `count` leading principal directions,
    `(count, L)`, each scaled to one standard deviation of the latents along it (SVD)."""
    mean = latents.mean(axis=0)
    _u, singular, directions = np.linalg.svd(latents - mean, full_matrices=False)
    deviations = singular[:count] / np.sqrt(max(len(latents) - 1, 1))
    return mean, directions[:count] * deviations[:, None]


def map_coordinates(latents: np.ndarray) -> tuple[np.ndarray, tuple[str, str]]:
    """2-D points for latents: the latents themselves when they have two values, else their
    projection on the two leading principal directions; and the axes' names."""
    if latents.shape[1] == 2:
        return latents, ("latent 1", "latent 2")
    mean, directions = principal_directions(latents)
    unit = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    return (latents - mean) @ unit.T, ("principal direction 1", "principal direction 2")


def reconstructions(subject: Subject) -> Figure:
    images = subject.images[:RECONSTRUCTED]
    rebuilt = subject.decode(subject.encode(images))
    figure = new_figure(RECONSTRUCTED * 0.75, 2.0)
    grid = figure.subplots(2, RECONSTRUCTED, squeeze=False)
    for column in range(len(images)):
        show_digit(grid[0, column], images[column] / 255.0)
        show_digit(grid[1, column], rebuilt[column])
    grid[0, 0].set_ylabel("test", fontsize=8)
    grid[1, 0].set_ylabel("rebuilt", fontsize=8)
    figure.suptitle(f"{subject.title}: test digits (top) and their reconstructions", fontsize=9)
    return figure


def latent_map(subject: Subject) -> Figure:
    points, (x_name, y_name) = map_coordinates(subject.latents)
    labels = subject.labels[subject.map_sample]
    figure = new_figure(5.2, 4.4)
    axes = figure.subplots()
    scatter = axes.scatter(
        points[:, 0], points[:, 1], c=labels, cmap=DIGIT_COLOURS, vmin=-0.5, vmax=9.5, s=4
    )
    colour_bar = figure.colorbar(scatter, ax=axes, ticks=range(10))
    colour_bar.set_label("true digit (colour only)")
    axes.set_xlabel(x_name)
    axes.set_ylabel(y_name)
    how = "" if subject.latent_length == 2 else f", PCA of {subject.latent_length} values"
    axes.set_title(f"{subject.title}: {len(points):,} test latents{how}", fontsize=9)
    return figure


def samples(subject: Subject) -> Figure:
    rng = np.random.default_rng(SAMPLES_SEED)
    latents = rng.standard_normal((SAMPLES_SIDE**2, subject.latent_length)).astype(np.float32)
    return _sheet(
        subject,
        subject.decode(latents),
        SAMPLES_SIDE,
        f"{subject.title}: {SAMPLES_SIDE**2} samples from the prior N(0, I)",
    )


def manifold(subject: Subject) -> Figure:
    steps = np.linspace(-SWEEP_DEVIATIONS, SWEEP_DEVIATIONS, MANIFOLD_SIDE)
    if subject.latent_length == 2:
        centre, directions = np.zeros(2), np.eye(2)
        how = f"latents from −{SWEEP_DEVIATIONS:g} to {SWEEP_DEVIATIONS:g} on each axis"
    else:
        centre, directions = principal_directions(subject.latents)
        how = (
            f"the test latents' mean ± {SWEEP_DEVIATIONS:g} standard deviations along their two "
            f"leading principal directions\n(of {subject.latent_length})"
        )
    grid = np.array([[row, column] for row in steps[::-1] for column in steps])
    latents = centre + grid[:, 1:] * directions[0] + grid[:, :1] * directions[1]
    return _sheet(subject, subject.decode(latents), MANIFOLD_SIDE, f"{subject.title}:\n{how}")


def _sheet(subject: Subject, pixels: np.ndarray, columns: int, title: str) -> Figure:
    figure = new_figure(5.6, 5.9)
    axes = figure.subplots()
    show_digit(axes, digit_sheet(pixels, columns))
    axes.set_title(title, fontsize=8)
    return figure
