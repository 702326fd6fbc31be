"""Naming every image's digit from one labelled image per digit, by clustering readings."""

from pathlib import Path

import keras
import numpy as np
import pytest

from models.kinds.few_label import choose_labelled
from models.training.builders import head_reader
from models.training.clustering import cluster_digits
from models.training.evaluation import predict
from models.training.fit import as_float_images

STARTER_ADD = Path(__file__).resolve().parents[2] / "starter" / "add" / "1" / "model.keras"


@pytest.fixture(scope="module")
def readings(mnist) -> tuple[np.ndarray, np.ndarray]:
    """The shipped add head's reader's standardised readings of the subset's 4,000
    training images (it learnt from sums, never a digit label), and their digits."""
    (images, digits), _ = mnist
    head = keras.saving.load_model(STARTER_ADD, compile=False, safe_mode=True)
    values = np.asarray(predict(head_reader(head), as_float_images(images)))
    return (values - values.mean(axis=0)) / values.std(axis=0), digits


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_label_per_digit_names_almost_every_image(readings, seed):
    values, digits = readings
    labelled = choose_labelled(digits, 1, seed)
    clustered = cluster_digits(values, labelled, digits[labelled], rounds=5)
    np.testing.assert_array_equal(clustered[labelled], digits[labelled])
    right = np.mean(clustered == digits)
    # each image given the digit of the nearest labelled image: what one label alone says
    nearest = (values @ values[labelled].T - 0.5 * (values[labelled] ** 2).sum(axis=1)).argmax(1)
    alone = np.mean(digits[labelled][nearest] == digits)
    assert right >= 0.98, f"{right:.2%} of the images clustered right"
    assert right >= alone + 0.05, f"{right:.2%} clustered against {alone:.2%} from labels alone"


def test_the_labelled_images_keep_their_digits_even_when_they_look_otherwise(readings):
    values, digits = readings
    labelled = choose_labelled(digits, 1, seed=0)
    wrong = (digits[labelled] + 1) % 10  # a teacher who mislabels every one of them
    clustered = cluster_digits(values, labelled, wrong, rounds=2)
    np.testing.assert_array_equal(clustered[labelled], wrong)


def test_every_digit_needs_a_labelled_image_and_rounds_must_be_positive(readings):
    values, digits = readings
    labelled = choose_labelled(digits, 1, seed=0)
    without_seven = labelled[digits[labelled] != 7]
    with pytest.raises(ValueError, match=r"none of \[7\]"):
        cluster_digits(values, without_seven, digits[without_seven], rounds=5)
    with pytest.raises(ValueError, match="rounds must be at least 1"):
        cluster_digits(values, labelled, digits[labelled], rounds=0)
