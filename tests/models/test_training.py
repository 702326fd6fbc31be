import numpy as np

from models.params import AutoencoderParams, HeadParams
from models.training.fit import optimizer, split_validation


def _learning_rates(adam, steps):
    rates = []
    for step in steps:
        adam.iterations.assign(step)
        rates.append(float(adam.learning_rate))  # the schedule at that step
    return np.array(rates)


def test_heads_warm_the_learning_rate_up_then_decay_it():
    params = HeadParams(learning_rate=2e-3)
    rates = _learning_rates(optimizer(params, 1000, warmup_steps=100), [0, 50, 100, 550, 1000])
    np.testing.assert_allclose(rates[:3], [0.0, 1e-3, 2e-3], rtol=1e-5)
    assert rates[2] > rates[3] > rates[4] > 0  # cosine decay to a floor after the warm-up
    np.testing.assert_allclose(rates[4], 0.05 * 2e-3, rtol=1e-3)


def test_without_warm_up_the_schedule_starts_at_the_learning_rate():
    params = HeadParams(learning_rate=2e-3)
    rates = _learning_rates(optimizer(params, 1000), [0, 500, 1000])
    np.testing.assert_allclose(rates[0], 2e-3, rtol=1e-6)
    assert rates[0] > rates[1] > rates[2]


def test_every_seed_holds_out_the_same_images():
    _, held_out_0 = split_validation(60_000, AutoencoderParams(seed=0))
    fit_7, held_out_7 = split_validation(60_000, HeadParams(seed=7))
    assert len(held_out_0) == 6_000
    np.testing.assert_array_equal(np.sort(held_out_0), np.sort(held_out_7))
    assert not np.intersect1d(fit_7, held_out_7).size
    assert len(fit_7) + len(held_out_7) == 60_000


def test_a_smaller_validation_fraction_holds_out_some_of_the_same_images():
    _, small = split_validation(60_000, HeadParams(validation_fraction=0.05, seed=3))
    _, large = split_validation(60_000, HeadParams(validation_fraction=0.1))
    assert len(small) == 3_000
    assert np.isin(small, large).all()
