"""Epsilon-greedy action selection and the course's epsilon schedule."""

from __future__ import annotations

from typing import Any

import numpy as np


def get_new_eps(epsilon: float, e_decay: float = 0.995, e_min: float = 0.01) -> float:
    """The course's per-episode decay: ``max(E_MIN, E_DECAY * epsilon)``."""
    return max(e_min, e_decay * epsilon)


def epsilon_greedy(q_values: Any, epsilon: float, rng: np.random.Generator) -> int:
    """With probability ``epsilon`` a uniformly random action, otherwise ``argmax_a Q(s, a)``.

    ``q_values`` has shape ``(num_actions,)`` or ``(1, num_actions)``; a tensor is accepted.
    Exactly one uniform draw decides explore or exploit; a second picks the random action.
    """
    q = np.asarray(q_values).reshape(-1)
    if rng.random() > epsilon:
        return int(np.argmax(q))
    return int(rng.integers(q.shape[0]))
