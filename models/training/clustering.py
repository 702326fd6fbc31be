"""Digits for unlabelled images from a handful of labelled ones, by clustering their readings.

A reader taught by sums (a head's reader, the `reader` kind) turns images of one digit
into readings that lie close together, so the ten digits form ten clusters. Starting
from the labelled images' means, `cluster_digits` runs k-means, then fits a mixture of
ten Gaussians with one covariance shared by all (linear discriminant analysis with the
classes unknown) by hard expectation-maximisation: each image goes to the digit whose
Gaussian explains it best, then the means, the shared covariance and the digits'
shares are estimated again from those assignments. The labelled images keep their own
digits throughout.

The clusters are found from all the images together, so which images happen to carry
the labels matters little: one labelled image per digit is enough to name each cluster.
Numpy only.
"""

from __future__ import annotations

import numpy as np

DIGITS = 10
KMEANS_ROUNDS = 50
"""At most this many rounds of k-means (nearest mean) before the Gaussian rounds."""
RIDGE = 1e-3
"""Added to the shared covariance's diagonal (the readings are standardised)."""


def cluster_digits(
    readings: np.ndarray, labelled_index: np.ndarray, labelled_digits: np.ndarray, rounds: int
) -> np.ndarray:
    """A digit for every row of `readings` `(N, features)`.

    `labelled_digits[i]` is the digit of `readings[labelled_index[i]]`; every digit needs
    at least one labelled image. k-means started from the labelled means settles the
    clusters roughly, then `rounds` rounds of hard EM with the shared-covariance Gaussians
    refine them.
    """
    readings = np.asarray(readings, np.float64)
    labelled_index = np.asarray(labelled_index)
    labelled_digits = np.asarray(labelled_digits)
    missing = sorted(set(range(DIGITS)) - set(labelled_digits.tolist()))
    if missing:
        raise ValueError(f"clustering needs a labelled image of every digit; none of {missing}")
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    means = _means(readings[labelled_index], labelled_digits)
    digits = _pinned(_nearest(readings, means), labelled_index, labelled_digits)
    # k-means first: started from single labelled images, the covariance estimated at once
    # can settle on a poor split (one seed's draw of 10 labels stayed at 89% right)
    for _ in range(KMEANS_ROUNDS):
        moved = _pinned(
            _nearest(readings, _means(readings, digits)), labelled_index, labelled_digits
        )
        if np.array_equal(moved, digits):
            break
        digits = moved
    for _ in range(rounds):
        scores = _discriminant_scores(readings, digits)
        digits = _pinned(scores.argmax(axis=1), labelled_index, labelled_digits)
    return digits


def _nearest(readings: np.ndarray, means: np.ndarray) -> np.ndarray:
    return (readings @ means.T - 0.5 * (means**2).sum(axis=1)).argmax(axis=1)


def _pinned(digits: np.ndarray, labelled_index: np.ndarray, labelled_digits: np.ndarray):
    digits[labelled_index] = labelled_digits
    return digits


def _means(readings: np.ndarray, digits: np.ndarray) -> np.ndarray:
    """Each digit's mean reading (every digit has its pinned labelled images)."""
    return np.stack([readings[digits == digit].mean(axis=0) for digit in range(DIGITS)])


def _discriminant_scores(readings: np.ndarray, digits: np.ndarray) -> np.ndarray:
    """Each image's log-probability under each digit's Gaussian (up to a constant), with
    the means, shared covariance and shares estimated from the assignment `digits`."""
    shares = np.bincount(digits, minlength=DIGITS) / len(digits)
    means = _means(readings, digits)
    residuals = readings - means[digits]
    covariance = residuals.T @ residuals / len(readings)
    covariance += RIDGE * np.eye(readings.shape[1])
    weights = np.linalg.solve(covariance, means.T).T  # (digits, features): means @ inverse
    offsets = -0.5 * (weights * means).sum(axis=1) + np.log(shares)
    return readings @ weights.T + offsets
