import numpy as np
import pytest

from models.training.augment import batch_seed, random_affine


@pytest.fixture()
def images(digits) -> np.ndarray:
    return (digits[0][:64] / 255.0).astype(np.float32)


def _centres_of_ink(images: np.ndarray) -> np.ndarray:
    rows, columns = np.mgrid[0:28, 0:28]
    ink = images.sum(axis=(1, 2))
    return np.stack(
        [(images * rows).sum(axis=(1, 2)) / ink, (images * columns).sum(axis=(1, 2)) / ink], 1
    )


def test_no_warp_leaves_the_digits_as_they_are(images):
    same = random_affine(images, batch_seed(0, 0), max_rotation=0.0, max_shift=0.0, max_zoom=1.0)
    np.testing.assert_allclose(np.asarray(same), images, atol=1e-6)


def test_a_batch_index_and_seed_fix_the_warps(images):
    first = np.asarray(random_affine(images, batch_seed(3, 7)))
    np.testing.assert_array_equal(first, np.asarray(random_affine(images, batch_seed(3, 7))))
    for other in (batch_seed(3, 8), batch_seed(4, 7)):
        assert np.abs(np.asarray(random_affine(images, other)) - first).max() > 0.5


def test_warps_move_and_resize_digits_within_their_bounds(images):
    warped = np.asarray(random_affine(images, batch_seed(0, 1)))
    assert warped.shape == images.shape
    assert warped.min() >= 0.0 and warped.max() <= 1.0 + 1e-6
    moved = np.linalg.norm(_centres_of_ink(warped) - _centres_of_ink(images), axis=1)
    # shifts reach 2.24 pixels along each axis; rotating and zooming about the centre
    # moves an (almost centred) MNIST digit's ink a little more
    assert moved.max() < 4.0 and np.median(moved) > 0.5
    ink = warped.sum(axis=(1, 2)) / images.sum(axis=(1, 2))
    # a zoom of up to 1.1 changes the area of ink by up to 1.21 times either way
    assert ink.min() > 0.75 and ink.max() < 1.3 and ink.std() > 0.02


def test_a_zoom_below_one_is_refused(images):
    with pytest.raises(ValueError, match="max_zoom must be at least 1"):
        random_affine(images, batch_seed(0, 0), max_zoom=0.9)
