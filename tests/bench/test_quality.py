"""The quality benchmark's goals and report."""

import json

import numpy as np

from bench.quality import GOALS


def test_goals_read_numpy_figures_into_a_report_json_can_write():
    goal = GOALS["vae_negative_elbo"]
    met = {"low": goal.met(np.float64(90.0)), "high": goal.met(np.float64(95.0))}
    assert met == {"low": True, "high": False}
    assert json.loads(json.dumps(met)) == met
    assert GOALS["vae_kl"].met(np.float64(20.0)) is None  # a figure with no goal


def test_single_digit_sums_score_the_starter_reader_against_the_labels(mnist):
    from bench.quality import single_digit_sums
    from models.settings import Settings

    (_, _), (images, labels) = mnist
    starter = Settings().starter_dir
    assert single_digit_sums(starter, images, labels) >= 0.98
    shuffled = np.random.default_rng(0).permutation(labels)
    assert single_digit_sums(starter, images, shuffled) < 0.2
