import numpy as np

from models.params import TrainingParams
from models.training.fit import _shuffled_batches


def test_every_epoch_sees_each_example_once_in_a_new_order():
    params = TrainingParams(batch_size=8, seed=3)
    examples = np.arange(20)
    batches = iter(_shuffled_batches(examples, params).as_numpy_iterator())
    steps = 3  # ceil(20 / 8): the last batch of an epoch is short, so epochs do not mix
    epochs = [np.concatenate([next(batches) for _ in range(steps)]) for _ in range(3)]
    for epoch in epochs:
        np.testing.assert_array_equal(np.sort(epoch), examples)
    assert not np.array_equal(epochs[0], epochs[1])  # reshuffled
    again = iter(_shuffled_batches(examples, params).as_numpy_iterator())
    np.testing.assert_array_equal(np.concatenate([next(again) for _ in range(steps)]), epochs[0])


def test_tuples_of_arrays_stay_aligned():
    params = TrainingParams(batch_size=8, seed=1)
    images, labels = np.arange(40) * 10, np.arange(40)
    for batch_images, batch_labels in _shuffled_batches((images, labels), params).take(4):
        np.testing.assert_array_equal(batch_images.numpy(), batch_labels.numpy() * 10)
