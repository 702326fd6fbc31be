import gzip

import numpy as np
import pytest

from models.data import DataError, digest, load_mnist, read_mnist


def _write_idx(path, array, compress):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(size).to_bytes(4, "big") for size in array.shape
    )
    payload = header + array.astype(np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)


def test_subset_is_real_mnist_layout(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (4000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (500, 28, 28) and y_test.dtype == np.uint8
    # MNIST's first labels, as published with the data set.
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert set(np.unique(y_train)) == set(range(10))


@pytest.mark.parametrize("compress", [True, False])
def test_idx_folder_loads_the_same_arrays(tmp_path, mnist, compress):
    (x_train, y_train), (x_test, y_test) = mnist
    _write_idx(tmp_path / "train-images-idx3-ubyte", x_train, compress)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", y_train, compress)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", x_test, compress)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", y_test, compress)
    loaded = load_mnist(tmp_path, download=False)
    assert digest(loaded) == digest(mnist)


def test_handcalc_data_variable_is_read_first(monkeypatch, subset_path, mnist):
    monkeypatch.setenv("HANDCALC_DATA", str(subset_path))
    assert digest(load_mnist(download=False)) == digest(mnist)


def test_keras_cache_is_used_when_handcalc_data_is_unset(monkeypatch, tmp_path, subset_path, mnist):
    cache = tmp_path / "datasets"
    cache.mkdir()
    (cache / "mnist.npz").write_bytes(subset_path.read_bytes())
    monkeypatch.delenv("HANDCALC_DATA", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert digest(load_mnist(download=False)) == digest(mnist)


def test_nothing_found_names_every_place_tried(monkeypatch, tmp_path):
    monkeypatch.setenv("HANDCALC_DATA", str(tmp_path / "missing.npz"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(DataError) as error:
        load_mnist(download=False)
    message = str(error.value)
    assert "missing.npz (does not exist)" in message
    assert str(tmp_path / "keras" / "datasets" / "mnist.npz") in message
    assert "Keras download" in message
    assert "Set HANDCALC_DATA" in message


def test_wrong_shape_is_reported(tmp_path, mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    path = tmp_path / "bad.npz"
    np.savez(path, x_train=x_train.reshape(-1, 784), y_train=y_train, x_test=x_test, y_test=y_test)
    with pytest.raises(DataError, match=r"train images have shape \(4000, 784\)"):
        read_mnist(path)


def test_wrong_dtype_is_reported(tmp_path, mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    path = tmp_path / "bad.npz"
    np.savez(path, x_train=x_train / 255.0, y_train=y_train, x_test=x_test, y_test=y_test)
    with pytest.raises(DataError, match="train images are float64, expected uint8"):
        read_mnist(path)


def test_labels_out_of_range_are_reported(tmp_path, mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    path = tmp_path / "bad.npz"
    np.savez(path, x_train=x_train, y_train=y_train + 5, x_test=x_test, y_test=y_test)
    with pytest.raises(DataError, match=r"expected digits 0\.\.9"):
        read_mnist(path)


def test_missing_arrays_and_non_npz_files_are_reported(tmp_path, mnist):
    (x_train, y_train), _ = mnist
    partial = tmp_path / "partial.npz"
    np.savez(partial, x_train=x_train, y_train=y_train)
    with pytest.raises(DataError, match=r"missing arrays \['x_test', 'y_test'\]"):
        read_mnist(partial)
    text = tmp_path / "text.npz"
    text.write_text("not an archive")
    with pytest.raises(DataError, match="cannot be read as an .npz archive"):
        read_mnist(text)


def test_truncated_idx_file_is_reported(tmp_path, mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    for name, array in [
        ("train-images-idx3-ubyte", x_train),
        ("train-labels-idx1-ubyte", y_train),
        ("t10k-images-idx3-ubyte", x_test),
        ("t10k-labels-idx1-ubyte", y_test),
    ]:
        _write_idx(tmp_path / name, array, compress=False)
    images = tmp_path / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-100])
    with pytest.raises(DataError, match="IDX header promises shape"):
        load_mnist(tmp_path, download=False)
