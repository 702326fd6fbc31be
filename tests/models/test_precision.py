import keras
import numpy as np
import pytest

from models.ops import operation
from models.params import AutoencoderParams, HeadParams
from models.training import precision
from models.training.builders import build_autoencoder, build_encoder, build_head, head_reader
from models.training.fit import PairResults, train_autoencoder, train_head


def test_explicit_precisions_resolve_to_themselves():
    assert precision.resolve("float32") == "float32"
    assert precision.resolve("mixed_bfloat16") == "mixed_bfloat16"
    with pytest.raises(ValueError, match="unknown precision 'float16'"):
        precision.resolve("float16")


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("fpu vme avx512f avx512_bf16 amx_bf16 amx_tile amx_int8", True),  # Sapphire Rapids
        ("fpu vme avx2 avx512f avx512_vnni avx512_bf16", True),  # Zen 4: no AMX
        ("fpu vme avx2 avx512f avx512_vnni", False),  # AVX-512, but bfloat16 emulated
        ("fpu vme avx2 fma", False),
    ],
)
def test_native_bfloat16_is_read_off_the_cpu_flags(tmp_path, monkeypatch, flags, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: some cpu\nflags\t\t: {flags}\n")
    monkeypatch.setattr(precision, "CPU_FLAGS", cpuinfo)
    assert precision._cpu_multiplies_bfloat16() is expected
    monkeypatch.setattr(precision, "CPU_FLAGS", tmp_path / "missing")
    assert precision._cpu_multiplies_bfloat16() is False


def test_dtype_policy_is_restored_even_after_an_error():
    before = keras.config.dtype_policy().name
    with pytest.raises(RuntimeError), precision.dtype_policy("mixed_bfloat16"):
        assert keras.layers.Dense(2).compute_dtype == "bfloat16"
        raise RuntimeError("boom")
    assert keras.config.dtype_policy().name == before


def test_a_mixed_precision_model_is_copied_into_float32_with_its_weights():
    with precision.dtype_policy("mixed_bfloat16"):
        mixed = build_autoencoder(8)
    images = np.random.default_rng(0).random((4, 28, 28), dtype=np.float32)
    copy = precision.in_float32(mixed, lambda: build_autoencoder(8))
    assert {layer.compute_dtype for layer in copy.get_layer("decoder").layers} == {"float32"}
    for got, expected in zip(copy.get_weights(), mixed.get_weights(), strict=True):
        np.testing.assert_array_equal(got, expected)
    # the same function, up to bfloat16's rounding in the mixed model
    np.testing.assert_allclose(np.asarray(copy(images)), np.asarray(mixed(images)), atol=0.02)
    assert np.asarray(mixed(images)).dtype == np.float32  # its outputs stay float32
    assert precision.in_float32(copy, lambda: build_autoencoder(8)) is copy


def test_a_head_built_in_mixed_precision_reads_in_bfloat16_from_a_float32_encoder():
    encoder = build_encoder(8)
    with precision.dtype_policy("mixed_bfloat16"):
        head = build_head("add", encoder)
    computing = {layer.compute_dtype for layer in head_reader(head).layers[1:]}
    assert computing == {"bfloat16"}  # the folded copies follow the policy, not the encoder
    assert {layer.compute_dtype for layer in encoder.layers} == {"float32"}
    outputs = head(np.zeros((2, 2, 28, 28), np.float32))
    assert {np.asarray(value).dtype for value in outputs.values()} == {np.dtype("float32")}


def test_training_in_mixed_precision_leaves_a_float32_model(mnist):
    (x_train, _), _ = mnist
    params = AutoencoderParams(epochs=2, latent_dim=16, precision="mixed_bfloat16")
    trained = train_autoencoder(params, x_train)
    assert trained.precision == "mixed_bfloat16"
    assert {w.dtype for w in trained.model.weights} == {"float32"}
    for part in ("encoder", "decoder"):
        layers = trained.model.get_layer(part).layers
        assert {layer.compute_dtype for layer in layers} == {"float32"}
    assert trained.history[-1]["loss"] < trained.history[0]["loss"]


def test_a_head_trains_its_reader_in_mixed_precision_and_is_published_in_float32(mnist):
    (images, labels), _ = mnist
    pairs = np.random.default_rng(0).integers(0, 1000, (1500, 2))
    sums = operation("add").apply(labels[pairs[:, 0]], labels[pairs[:, 1]])
    params = HeadParams(epochs=1, pairs=1000, precision="mixed_bfloat16")
    train, validation = (
        PairResults(pairs[:1000], sums[:1000]),
        PairResults(pairs[1000:], sums[1000:]),
    )
    encoder = build_encoder(16)
    trained = train_head("add", params, encoder, images, train, validation)
    assert trained.precision == "mixed_bfloat16"
    assert {layer.compute_dtype for layer in head_reader(trained.model).layers} == {"float32"}
    assert {layer.compute_dtype for layer in trained.model.layers} == {"float32"}
    # the reader was fine-tuned (its weights moved), and the encoder it copied was not
    moved = head_reader(trained.model).get_layer("latent").get_weights()[0]
    assert not np.allclose(moved, encoder.get_layer("latent").get_weights()[0])
