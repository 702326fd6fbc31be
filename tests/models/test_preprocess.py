import io

import numpy as np
import pytest
from PIL import Image

from models.preprocess import ImageError, ink_map, normalise, preprocess, preprocess_many
from tests.helpers import image_bytes, noise_png

COUNT = 200


def _accuracy(classify, images, labels):
    return float(np.mean(classify(np.stack(images)) == labels))


def _raw_accuracy(classify, digits):
    x, y = digits
    return _accuracy(classify, list(x[:COUNT] / 255.0), y[:COUNT])


def test_mnist_form_pngs_come_through_unchanged(digits, lite_classifier):
    x, y = digits
    processed = [preprocess(image_bytes(image)) for image in x]
    raw = _accuracy(lite_classifier, list(x / 255.0), y)
    through = _accuracy(lite_classifier, processed, y)
    assert abs(through - raw) <= 0.002
    assert (
        np.mean([np.abs(p - i / 255.0).max() < 1e-6 for p, i in zip(processed, x, strict=True)])
        > 0.9
    )


def test_full_pipeline_on_mnist_form_keeps_the_digits_readable(digits, lite_classifier):
    # Bypass the MNIST-form shortcut: crop, rescale and re-centre every digit.
    x, y = digits
    processed = [normalise(ink_map(Image.fromarray(image))) for image in x[:COUNT]]
    assert (
        _accuracy(lite_classifier, processed, y[:COUNT])
        >= _raw_accuracy(lite_classifier, digits) - 0.02
    )
    for image in processed:
        assert image.shape == (28, 28) and image.dtype == np.float32
        assert image.min() >= 0.0 and image.max() <= 1.0


def _paper(image, scale=1, canvas=None, offset=(0, 0)):
    """Dark ink on light paper, optionally enlarged and placed on a bigger sheet."""
    ink = Image.fromarray(image).resize((28 * scale, 28 * scale), Image.Resampling.BICUBIC)
    ink = np.asarray(ink)
    if canvas is not None:
        sheet = np.zeros(canvas, dtype=np.uint8)
        top, left = offset
        sheet[top : top + ink.shape[0], left : left + ink.shape[1]] = ink
        ink = sheet
    return 255 - ink


UPLOADS = {
    "dark_on_light_png": lambda image: image_bytes(_paper(image)),
    "blue_ink_rgb": lambda image: image_bytes(
        np.stack([255 - image * 0.8, 255 - image * 0.6, np.full_like(image, 240)], axis=-1)
    ),
    "jpeg_photo_of_paper": lambda image: image_bytes(
        np.clip(_paper(image, scale=4).astype(int) - 20, 0, 255), "JPEG", quality=70
    ),
    "transparent_background": lambda image: image_bytes(
        np.dstack([np.zeros((28, 28, 3), np.uint8), image]), "PNG"
    ),
    "large_canvas_off_centre": lambda image: image_bytes(
        _paper(image, scale=6, canvas=(600, 800), offset=(30, 500))
    ),
    "webp": lambda image: image_bytes(_paper(image, scale=2), "WEBP", quality=90),
    "gif": lambda image: image_bytes(_paper(image, scale=2), "GIF"),
    "bmp": lambda image: image_bytes(_paper(image), "BMP"),
    "tiff_16_bit": lambda image: _sixteen_bit_tiff(_paper(image, scale=2)),
    "cmyk_jpeg": lambda image: _cmyk_jpeg(_paper(image, scale=3)),
}


def _sixteen_bit_tiff(grey):
    buffer = io.BytesIO()
    Image.fromarray(grey.astype(np.uint16) * 257).save(buffer, format="TIFF")
    return buffer.getvalue()


def _cmyk_jpeg(grey):
    buffer = io.BytesIO()
    Image.fromarray(grey).convert("RGB").convert("CMYK").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@pytest.mark.parametrize("kind", sorted(UPLOADS))
def test_realistic_uploads_are_still_read(kind, digits, lite_classifier):
    x, y = digits
    processed = [preprocess(UPLOADS[kind](image)) for image in x[:COUNT]]
    accuracy = _accuracy(lite_classifier, processed, y[:COUNT])
    assert accuracy >= _raw_accuracy(lite_classifier, digits) - 0.04, accuracy


def test_exif_orientation_is_applied(digits, lite_classifier):
    x, y = digits
    rotated = [np.rot90(_paper(image), k=1) for image in x[:COUNT]]  # stored turned left
    uploads = []
    for image in rotated:
        exif = Image.Exif()
        exif[0x0112] = 6  # "rotate 90 CW to display"
        uploads.append(image_bytes(image, "JPEG", quality=95, exif=exif))
    processed = [preprocess(upload) for upload in uploads]
    assert (
        _accuracy(lite_classifier, processed, y[:COUNT])
        >= _raw_accuracy(lite_classifier, digits) - 0.04
    )


def test_speckled_paper_does_not_move_the_crop(digits):
    image = digits[0][0]
    clean = preprocess(image_bytes(_paper(image, scale=4, canvas=(200, 200), offset=(40, 40))))
    noisy_sheet = _paper(image, scale=4, canvas=(200, 200), offset=(40, 40))
    rng = np.random.default_rng(0)
    specks = rng.integers(0, 200, size=(30, 2))
    noisy_sheet[specks[:, 0], specks[:, 1]] = 0  # isolated black dots on the paper
    noisy = preprocess(image_bytes(noisy_sheet))
    assert np.abs(noisy - clean).mean() < 0.02


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the uploaded file is empty"),
        (b"hello, this is text", "not an image"),
        (noise_png()[:400], "corrupt or truncated"),
        (noise_png()[:100] + b"\xff" * 60 + noise_png()[160:], "corrupt or truncated"),
        (image_bytes(np.full((40, 40), 255, np.uint8)), "blank"),
        (image_bytes(np.full((40, 40, 3), 90, np.uint8)), "blank"),
        (image_bytes(np.zeros((40, 40, 4), np.uint8)), "blank"),
    ],
    ids=["empty", "text", "truncated", "garbled", "white", "flat_grey", "fully_transparent"],
)
def test_bad_uploads_raise_image_error(data, message):
    with pytest.raises(ImageError, match=message):
        preprocess(data)


def test_oversized_images_are_refused_before_decoding():
    # 8000x6000 = 48 megapixels; PNG of a constant image compresses to a few kilobytes.
    bomb = image_bytes(np.zeros((6000, 8000), np.uint8))
    assert len(bomb) < 200_000
    with pytest.raises(ImageError, match=r"8000x6000 pixels \(48.0 megapixels\), over the limit"):
        preprocess(bomb)
    with pytest.raises(ImageError, match="over the limit of 0.001 megapixels"):
        preprocess(image_bytes(np.zeros((40, 40), np.uint8)), max_pixels=1000)


def test_first_frame_of_an_animation_is_used(digits):
    first, second = (_paper(image, scale=2) for image in digits[0][:2])
    buffer = io.BytesIO()
    frames = [Image.fromarray(first), Image.fromarray(second)]
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    animated = preprocess(buffer.getvalue())
    assert np.abs(animated - preprocess(image_bytes(first, "GIF"))).max() < 1e-6


def test_batch_preprocessing_matches_one_by_one(digits):
    x, _ = digits
    uploads = [image_bytes(image) for image in x[:40]]
    uploads += [UPLOADS[kind](x[40 + i]) for i, kind in enumerate(sorted(UPLOADS))]
    uploads += [b"", image_bytes(np.full((30, 30), 255, np.uint8))]
    uploads += [image_bytes(np.roll(x[0], 6, axis=1))]  # 28x28 but off-centre: full pipeline
    batch, errors = preprocess_many(uploads)
    assert sorted(errors) == [len(uploads) - 3, len(uploads) - 2]
    assert "empty" in str(errors[len(uploads) - 3]) and "blank" in str(errors[len(uploads) - 2])
    for index, data in enumerate(uploads):
        if index not in errors:
            np.testing.assert_array_equal(batch[index], preprocess(data))


def test_the_single_image_mnist_form_test_agrees_with_the_stacked_one(mnist):
    """`mnist_form` (every upload, in Pillow's C code) and `_mnist_form_mask` (batches, in
    numpy) say the same of real digits as MNIST ships them, shifted off centre, faint, and
    of noise and blank images; what `mnist_form` passes on is the pixels over 255."""
    from models.preprocess import _mnist_form_mask, mnist_form

    (train, _), (test, _) = mnist
    rng = np.random.default_rng(0)
    shifted = np.stack(
        [np.roll(image, tuple(rng.integers(-3, 4, size=2)), axis=(0, 1)) for image in test]
    )
    images = np.concatenate([
        train[:1000], test, shifted, (test // 2).astype(np.uint8),
        rng.integers(0, 256, (200, 28, 28), dtype=np.uint8), np.zeros((3, 28, 28), np.uint8),
    ])  # fmt: skip
    ready = [mnist_form(Image.fromarray(image)) for image in images]
    single = np.array([pixels is not None for pixels in ready])
    assert (single == _mnist_form_mask(images)).all()
    assert single[:1000].mean() > 0.9 and 0.02 < single[1500:2000].mean() < 0.5  # both kinds
    for pixels, image in zip(ready[:1000], images[:1000], strict=True):
        if pixels is not None:
            np.testing.assert_array_equal(pixels, image.astype(np.float32) * np.float32(1 / 255))
    assert mnist_form(Image.fromarray(train[0]).convert("RGB")) is None
    assert mnist_form(Image.fromarray(np.pad(train[0], 1))) is None  # 30x30


def test_normalising_an_ink_map_with_only_faint_ink_says_so() -> None:
    # a piece cut off a neighbour's anti-aliased edge: ink, but none above the threshold
    faint = np.zeros((30, 12), np.float32)
    faint[5:25, 3] = 0.05
    with pytest.raises(ImageError, match="no ink stands out"):
        normalise(faint)
