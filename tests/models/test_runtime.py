import numpy as np
import pytest

from models.artifacts.catalog import LITERT_FILE
from models.artifacts.registry import ArtifactStore
from models.runtime import MAX_ROWS, LiteModel


def test_large_batches_run_in_chunks_with_the_same_answers(trained_root, digits):
    model = LiteModel(ArtifactStore(trained_root).resolve("classifier").file(LITERT_FILE))
    images = (digits[0][: 3 * MAX_ROWS + 5] / 255.0).astype(np.float32)
    together = model.run("classify", image=images)["probabilities"]
    one_by_one = np.concatenate(
        [
            model.run("classify", image=images[i : i + 1])["probabilities"]
            for i in range(len(images))
        ]
    )
    assert together.shape == (len(images), 10)
    np.testing.assert_allclose(together, one_by_one, atol=1e-6)
    assert (together.argmax(axis=1) == digits[1][: len(images)]).mean() > 0.9


def test_unknown_signatures_are_named(trained_root):
    model = LiteModel(ArtifactStore(trained_root).resolve("classifier").file(LITERT_FILE))
    with pytest.raises(KeyError, match="no signature 'encode'; this model has \\['classify'\\]"):
        model.run("encode", image=np.zeros((1, 28, 28), np.float32))
