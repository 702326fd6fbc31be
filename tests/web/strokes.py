"""Drawing a real MNIST digit on a pad with the mouse, along its centre lines.

Each row's runs of ink become points at their centres; a stroke joins the centres of
runs that touch in neighbouring rows, and a run wider than the pen is also drawn
across, a little short. With the pad's pen about two MNIST pixels wide, the strokes
come out about as thick as the digit's own."""

from __future__ import annotations

import numpy as np

INK = 128  # of 255: pixels darker than this are paper
INSET = 1.0  # MNIST pixels a wide run is drawn short at either end


def ink_runs(pixels: np.ndarray) -> list[tuple[int, int, int]]:
    """(row, first column, last column) of each horizontal run of ink in a 28x28 digit."""
    runs = []
    for row, line in enumerate(pixels >= INK):
        column = 0
        while column < len(line):
            if line[column]:
                start = column
                while column + 1 < len(line) and line[column + 1]:
                    column += 1
                runs.append((row, start, column))
            column += 1
    return runs


def segments(pixels: np.ndarray) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Line segments in MNIST pixel coordinates (x, y) that trace the digit's ink."""
    runs = ink_runs(pixels)
    lines = []
    for row, first, last in runs:
        centre = ((first + last) / 2 + 0.5, row + 0.5)
        if last - first >= 2:
            lines.append(((first + 0.5 + INSET, row + 0.5), (last + 0.5 - INSET, row + 0.5)))
        touching = [
            (first2 + last2) / 2 + 0.5
            for row2, first2, last2 in runs
            if row2 == row + 1 and first2 <= last + 1 and last2 >= first - 1
        ]
        lines.extend((centre, (x, row + 1.5)) for x in touching)
        if not touching and last - first < 2:
            lines.append((centre, centre))
    return lines


def draw_digit(page, canvas, pixels: np.ndarray, centre: float = 0.5) -> None:
    """Trace the digit on `canvas` (a locator) with the mouse, its 28 rows over 90% of the
    canvas's height, centred at `centre` of its width."""
    box = canvas.bounding_box()
    side = box["height"] * 0.9
    left = box["x"] + box["width"] * centre - side / 2
    top = box["y"] + box["height"] * 0.05
    scale = side / 28
    for (x1, y1), (x2, y2) in segments(pixels):
        page.mouse.move(left + x1 * scale, top + y1 * scale)
        page.mouse.down()
        page.mouse.move(left + x2 * scale, top + y2 * scale, steps=2)
        page.mouse.up()
