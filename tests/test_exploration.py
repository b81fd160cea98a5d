"""Exploration: epsilon-greedy against its definition, and the course's epsilon decay."""

import numpy as np
import pytest

from lunar.agent import epsilon_greedy, get_new_eps


def test_epsilon_greedy_draws_as_its_docstring_says():
    q = np.array([[0.5, -1.0, 3.0, 0.0]])
    rng, replay = np.random.default_rng(7), np.random.default_rng(7)
    for epsilon in (0.0, 0.3, 1.0):
        for _ in range(200):
            action = epsilon_greedy(q, epsilon, rng)
            explore = replay.random() <= epsilon  # one uniform draw decides, a second picks the action
            assert action == (int(replay.integers(4)) if explore else 2)


def test_epsilon_greedy_explores_uniformly_at_epsilon_1():
    counts = np.bincount([epsilon_greedy(np.zeros(4), 1.0, np.random.default_rng(i)) for i in range(4000)],
                         minlength=4)
    assert np.all(np.abs(counts - 1000) < 4 * np.sqrt(1000 * 0.75))


def test_get_new_eps_is_the_course_formula():
    assert get_new_eps(1.0, 0.995, 0.01) == pytest.approx(0.995)
    assert get_new_eps(0.01005, 0.995, 0.01) == 0.01  # max(E_MIN, E_DECAY * epsilon)
