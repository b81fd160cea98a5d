"""Epsilon-greedy action selection and the epsilon schedules."""

from __future__ import annotations

from typing import Any

import numpy as np


def get_new_eps(epsilon: float, e_decay: float = 0.995, e_min: float = 0.01) -> float:
    """The course's per-episode decay: ``max(E_MIN, E_DECAY * epsilon)``."""
    return max(e_min, e_decay * epsilon)


def linear_epsilon(step: int, decay_steps: int, start: float = 1.0, end: float = 0.01) -> float:
    """Linear decay over environment steps: ``start + (end - start) * min(1, step / decay_steps)``."""
    fraction = min(1.0, step / decay_steps)
    return start + (end - start) * fraction


def epsilon_greedy(q_values: Any, epsilon: float, rng: np.random.Generator) -> int:
    """With probability ``epsilon`` a uniformly random action, otherwise ``argmax_a Q(s, a)``.

    ``q_values`` has shape ``(num_actions,)`` or ``(1, num_actions)``; a tensor is accepted.
    Exactly one uniform draw decides explore or exploit; a second picks the random action.
    """
    q = np.asarray(q_values).reshape(-1)
    if rng.random() > epsilon:
        return int(np.argmax(q))
    return int(rng.integers(q.shape[0]))


class EzGreedy:
    """Temporally-extended epsilon-greedy, "ez-greedy" (Dabney, Ostrovski & Barreto, 2021).

    Like :func:`epsilon_greedy`, except that an exploratory random action is repeated for
    ``n ~ Zeta(mu)`` steps, ``P(n) = n^-mu / zeta(mu)`` (at most ``max_duration``); while it
    repeats, no draw is made. Draws per decision: the explore-or-exploit draw of
    :func:`epsilon_greedy`, then, when it explores, the action and the duration.

    Why it matters for LunarLander: the +100 for landing is paid only once the lander has
    lain still for about 25 frames (Box2D's sleep). One-step exploration almost never
    waits that long, so a network that has learned to fire an engine now and then on the
    ground never sees the reward for waiting; a repeated "do nothing" shows it.
    """

    def __init__(self, mu: float, max_duration: int) -> None:
        if not mu > 1.0:
            raise ValueError(f"mu must be > 1, got {mu}")
        self.mu = float(mu)
        self.max_duration = int(max_duration)
        self.reset()

    def reset(self) -> None:
        """Forget the action being repeated (a new episode begins)."""
        self._action, self._left = 0, 0

    def __call__(self, q_values: Any, epsilon: float, rng: np.random.Generator) -> int:
        if self._left > 0:
            self._left -= 1
            return self._action
        q = np.asarray(q_values).reshape(-1)
        if rng.random() > epsilon:
            return int(np.argmax(q))
        self._action = int(rng.integers(q.shape[0]))
        self._left = int(min(rng.zipf(self.mu), self.max_duration)) - 1
        return self._action
