"""A classifier's pictures: its confusion matrix, the digits it gets wrong, and what its
first layer looks at."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers
from matplotlib.figure import Figure

from models.figures.render import heat_map, new_figure, show_digit
from models.figures.subject import Subject
from models.training.fit import as_float_images

MISTAKES_SHOWN = 40
UNITS_SHOWN = 40
FILTERS_SHOWN = 16


def confusion(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """`(10, 10)` counts: row is the true digit, column the predicted one."""
    counts = np.zeros((10, 10), np.int64)
    np.add.at(counts, (np.asarray(labels, np.int64), np.asarray(predicted, np.int64)), 1)
    return counts


def confusion_matrix(subject: Subject) -> Figure:
    counts = confusion(subject.labels, subject.probabilities.argmax(axis=1))
    accuracy = np.trace(counts) / counts.sum()
    figure = new_figure(5.2, 4.4)
    axes = figure.subplots()
    heat_map(figure, axes, np.log10(1 + counts), colour_map="Blues")
    for (row, column), count in np.ndenumerate(counts):
        if count:
            colour = "white" if row == column else "black"
            axes.text(column, row, str(count), ha="center", va="center", fontsize=6, color=colour)
    axes.set_xlabel("predicted digit")
    axes.set_ylabel("true digit")
    axes.set_title(
        f"{subject.title}: {accuracy:.2%} of {counts.sum():,} test digits\n"
        "(colour: log10 of 1 + count)",
        fontsize=9,
    )
    return figure


def pick_mistakes(probabilities: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """Indices of up to `count` misclassified images, the most confident mistakes first."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")][:count]


def mistakes(subject: Subject) -> Figure:
    probabilities = subject.probabilities
    chosen = pick_mistakes(probabilities, subject.labels, MISTAKES_SHOWN)
    total = int(np.sum(probabilities.argmax(axis=1) != subject.labels))
    columns = 8
    rows = max(1, -(-len(chosen) // columns))
    figure = new_figure(columns * 0.8, rows * 0.95 + 0.4)
    grid = figure.subplots(rows, columns, squeeze=False)
    for axes in grid.flat:
        axes.axis("off")
    for axes, index in zip(grid.flat, chosen, strict=False):
        predicted = int(probabilities[index].argmax())
        show_digit(
            axes,
            subject.images[index] / 255.0,
            f"{subject.labels[index]}→{predicted} {probabilities[index, predicted]:.0%}",
            fontsize=7,
        )
        axes.axis("on")
    figure.suptitle(
        f"{subject.title}: {total} of {len(subject.labels):,} test digits wrong; "
        f"the {len(chosen)} most confident (true→predicted, confidence)",
        fontsize=9,
    )
    return figure


def first_layer(model: keras.Model) -> layers.Layer:
    """The first dense or convolutional layer an image meets, inside nested models too."""
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D | layers.Dense):
            return layer
        if isinstance(layer, keras.Model):
            return first_layer(layer)
        if isinstance(layer, layers.TimeDistributed) and isinstance(layer.layer, keras.Model):
            return first_layer(layer.layer)
    raise ValueError(f"{model.name} has no dense or convolutional layer")


def first_layer_figure(subject: Subject) -> Figure:
    layer = first_layer(subject.model)
    kernel = keras.ops.convert_to_numpy(layer.kernel).astype(np.float32)
    if isinstance(layer, layers.Dense):
        return _dense_weights(subject, kernel)
    return _filters_and_maps(subject, layer, kernel)


def _dense_weights(subject: Subject, kernel: np.ndarray) -> Figure:
    if kernel.shape[0] != 28 * 28:
        raise ValueError(f"the first dense layer reads {kernel.shape[0]} values, not 784 pixels")
    shown = min(UNITS_SHOWN, kernel.shape[1])
    weights = kernel[:, :shown].T.reshape(shown, 28, 28)
    limit = float(np.abs(weights).max()) or 1.0
    columns = 10
    rows = -(-shown // columns)
    figure = new_figure(columns * 0.8, rows * 0.8 + 0.6)
    grid = figure.subplots(rows, columns, squeeze=False)
    for axes in grid.flat:
        axes.axis("off")
    for axes, unit in zip(grid.flat, weights, strict=False):
        axes.imshow(unit, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    figure.suptitle(
        f"{subject.title}: the weights of {shown} of the first layer's {kernel.shape[1]} units "
        "as 28x28 images (red +, blue −)",
        fontsize=9,
    )
    return figure


def _filters_and_maps(subject: Subject, layer: layers.Layer, kernel: np.ndarray) -> Figure:
    shown = min(FILTERS_SHOWN, kernel.shape[-1])
    digit = subject.images[:1]
    output = layer(as_float_images(digit)[..., None])
    maps = keras.ops.convert_to_numpy(keras.ops.cast(output, "float32"))[0]  # (28, 28, filters)
    filters = kernel[:, :, 0, :shown]  # the first input channel: the grey pixels
    limit = float(np.abs(filters).max()) or 1.0
    figure = new_figure(shown * 0.6 + 1.2, 2.4)
    grid = figure.subplots(2, shown + 1, squeeze=False)
    show_digit(grid[0, 0], digit[0] / 255.0, f"digit {subject.labels[0]}", fontsize=7)
    grid[1, 0].axis("off")
    for index in range(shown):
        top, bottom = grid[0, index + 1], grid[1, index + 1]
        top.imshow(filters[:, :, index], cmap="RdBu_r", vmin=-limit, vmax=limit)
        bottom.imshow(maps[:, :, index], cmap="magma", interpolation="nearest")
        for axes in (top, bottom):
            axes.set_xticks([])
            axes.set_yticks([])
    grid[0, 1].set_ylabel("filter", fontsize=7)
    grid[1, 1].set_ylabel("map", fontsize=7)
    height, width = kernel.shape[:2]
    figure.suptitle(
        f"{subject.title}: {shown} of the first convolution's {kernel.shape[-1]} {height}x{width} "
        "filters (top) and what each makes of the digit (bottom)",
        fontsize=9,
    )
    return figure
