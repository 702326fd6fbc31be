import numpy as np

from models.params import HeadParams
from models.training import _optimizer


def _learning_rates(optimizer, steps):
    rates = []
    for step in steps:
        optimizer.iterations.assign(step)
        rates.append(float(optimizer.learning_rate))  # the schedule at that step
    return np.array(rates)


def test_heads_warm_the_learning_rate_up_then_decay_it():
    params = HeadParams(learning_rate=2e-3)
    rates = _learning_rates(_optimizer(params, 1000, warmup_steps=100), [0, 50, 100, 550, 1000])
    np.testing.assert_allclose(rates[:3], [0.0, 1e-3, 2e-3], rtol=1e-5)
    assert rates[2] > rates[3] > rates[4] > 0  # cosine decay to a floor after the warm-up
    np.testing.assert_allclose(rates[4], 0.05 * 2e-3, rtol=1e-3)


def test_without_warm_up_the_schedule_starts_at_the_learning_rate():
    params = HeadParams(learning_rate=2e-3)
    rates = _learning_rates(_optimizer(params, 1000), [0, 500, 1000])
    np.testing.assert_allclose(rates[0], 2e-3, rtol=1e-6)
    assert rates[0] > rates[1] > rates[2]
