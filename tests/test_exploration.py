"""Exploration: ez-greedy against its definition, draw by draw."""

import numpy as np
import pytest

from lunar.config import DQNConfig
from lunar.errors import UserError
from lunar.exploration import EzGreedy, epsilon_greedy


def _ez_greedy_written_out(q, epsilon, mu, max_duration, rng, steps):
    """The actions of ez-greedy from its definition: exploit with one uniform draw, or
    draw an action and a Zeta(mu) duration and repeat it that many steps."""
    actions = []
    while len(actions) < steps:
        if rng.random() > epsilon:
            actions.append(int(np.argmax(q)))
        else:
            action = int(rng.integers(len(q)))
            actions.extend([action] * int(min(rng.zipf(mu), max_duration)))
    return actions[:steps]


@pytest.mark.parametrize("epsilon", [1.0, 0.3])
def test_ez_greedy_repeats_each_random_action_for_its_drawn_duration(epsilon):
    q = np.array([0.0, 2.0, 1.0, -1.0])
    explore = EzGreedy(mu=2.0, max_duration=50)
    rng = np.random.default_rng(3)
    got = [explore(q, epsilon, rng) for _ in range(2000)]
    want = _ez_greedy_written_out(q, epsilon, 2.0, 50, np.random.default_rng(3), 2000)
    assert got == want
    runs = np.diff(np.flatnonzero(np.diff(got) != 0))
    assert runs.max() > 5  # random actions really are held for several steps


def test_ez_greedy_durations_follow_the_zeta_law():
    """P(n = 1) = 1 / zeta(2) = 6 / pi^2 and P(n = 2) = 1 / (4 zeta(2)) for mu = 2."""
    explore = EzGreedy(mu=2.0, max_duration=10_000)
    rng = np.random.default_rng(0)
    durations = []
    for _ in range(40_000):
        explore(np.zeros(4), 1.0, rng)
        durations.append(explore._left + 1)
        explore.reset()
    durations = np.array(durations)
    zeta2 = np.pi ** 2 / 6
    assert abs((durations == 1).mean() - 1 / zeta2) < 0.01
    assert abs((durations == 2).mean() - 1 / (4 * zeta2)) < 0.01


def test_ez_greedy_exploits_like_epsilon_greedy():
    q = np.array([0.5, -1.0, 3.0, 0.0])
    explore = EzGreedy(mu=2.0, max_duration=1000)
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    assert [explore(q, 0.0, rng_a) for _ in range(50)] == [epsilon_greedy(q, 0.0, rng_b) for _ in range(50)] == [2] * 50
    assert rng_a.random() == rng_b.random()  # the same draws were made


def test_ez_greedy_reset_ends_the_repeat():
    explore = EzGreedy(mu=1.01, max_duration=1000)  # heavy tail: long repeats
    rng = np.random.default_rng(1)
    q = np.array([0.0, 0.0, 0.0, 9.0])
    while explore._left == 0 or explore._action == 3:
        explore.reset()
        explore(q, 1.0, rng)
    explore.reset()
    assert explore(q, 0.0, rng) == 3  # greedy at once, not the repeated action


def test_ez_greedy_mu_must_exceed_one():
    with pytest.raises(ValueError):
        EzGreedy(mu=1.0, max_duration=10)
    with pytest.raises(UserError, match="ez_greedy_mu"):
        DQNConfig(ez_greedy_mu=0.5)
