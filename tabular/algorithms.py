"""Tabular reinforcement learning on a known or unknown MDP, in numpy.

Transition tables follow Gymnasium's toy-text convention:
``P[s][a] = [(prob, next_state, reward, terminated), ...]``.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

Transitions = Mapping[int, Mapping[int, Sequence[tuple[float, int, float, bool]]]]


def discounted_return(rewards: Sequence[float], gamma: float) -> float:
    """``G_t = sum_k gamma^k R_{t+k+1}`` for the rewards of one trajectory."""
    total = 0.0
    for reward in reversed(rewards):
        total = float(reward) + gamma * total
    return total


def q_learning_update(q: np.ndarray, state: int, action: int, reward: float, next_state: int,
                      terminated: bool, alpha: float, gamma: float) -> float:
    """In place: ``Q(s,a) <- (1 - alpha) Q(s,a) + alpha (r + gamma max_a' Q(s',a'))``.

    A terminal transition does not bootstrap (its target is ``r``); a truncated one
    does. Returns the new ``Q(s, a)``.
    """
    target = reward if terminated else reward + gamma * max(q[next_state].tolist())
    q[state, action] = (1.0 - alpha) * q[state, action] + alpha * target
    return float(q[state, action])


def search_then_converge(alpha: float, k: float, n: int) -> float:
    """Step size of the ``n``-th update of a state-action pair: ``alpha * k / (k + n)``.

    About ``alpha`` for the first ``k`` updates (the values travel back from the goal),
    then about ``alpha * k / n``: the steps still sum to infinity while their squares
    converge (the Robbins-Monro conditions), so the noise of the targets averages out.
    """
    return alpha * k / (k + n)


def multiplicative_epsilon(epsilon: float, decay: float, minimum: float) -> float:
    """Per-episode decay: ``max(minimum, decay * epsilon)``."""
    return max(minimum, decay * epsilon)


def exponential_epsilon(t: int, start: float, end: float, decay: float) -> float:
    """``eps_t = eps_end + (eps_start - eps_end) * exp(-t / decay)``."""
    return end + (start - end) * math.exp(-t / decay)


def epsilon_greedy(q_row: np.ndarray, epsilon: float, rng: np.random.Generator) -> int:
    """Explore (a uniform action) if a uniform draw ``r <= epsilon``, else exploit ``argmax``
    (ties broken at random, so an all-zero row does not always pick action 0)."""
    if rng.random() <= epsilon:
        return int(rng.integers(q_row.shape[0]))
    values = q_row.tolist()  # plain floats: ~10x faster than numpy on a row of 2-4 values
    best = max(values)
    ties = [a for a, v in enumerate(values) if v == best]
    return ties[0] if len(ties) == 1 else ties[int(rng.integers(len(ties)))]


def _backup(P: Transitions, v: np.ndarray, gamma: float, num_states: int, num_actions: int) -> np.ndarray:
    """``Q(s,a) = sum_{s'} p (r + gamma (1 - terminated) V(s'))``."""
    q = np.zeros((num_states, num_actions))
    for s in range(num_states):
        for a in range(num_actions):
            q[s, a] = sum(p * (r + (0.0 if done else gamma * v[s2])) for p, s2, r, done in P[s][a])
    return q


def value_iteration(P: Transitions, num_states: int, num_actions: int, gamma: float,
                    tol: float = 1e-12, max_iterations: int = 100_000) -> tuple[np.ndarray, np.ndarray]:
    """Optimal values by repeated Bellman optimality backups.

    ``V(s) <- max_a sum_{s'} P(s'|s,a) (r + gamma (1 - terminated) V(s'))`` until the
    largest change is below ``tol``. Returns ``(V*, Q*)``.
    """
    if not 0.0 <= gamma < 1.0:
        raise ValueError("value iteration needs 0 <= gamma < 1")
    v = np.zeros(num_states)
    for _ in range(max_iterations):
        q = _backup(P, v, gamma, num_states, num_actions)
        new_v = q.max(axis=1)
        if np.max(np.abs(new_v - v)) < tol:
            return new_v, q
        v = new_v
    return v, _backup(P, v, gamma, num_states, num_actions)


def policy_evaluation(P: Transitions, policy: np.ndarray, num_states: int, gamma: float,
                      tol: float = 1e-12, max_iterations: int = 100_000) -> np.ndarray:
    """``V^pi(s) = sum_{s'} P(s'|s,pi(s)) (r + gamma (1 - terminated) V^pi(s'))``, iterated to ``tol``.

    ``policy`` is a deterministic action per state.
    """
    v = np.zeros(num_states)
    for _ in range(max_iterations):
        new_v = np.array([sum(p * (r + (0.0 if done else gamma * v[s2])) for p, s2, r, done in P[s][int(policy[s])])
                          for s in range(num_states)])
        if np.max(np.abs(new_v - v)) < tol:
            return new_v
        v = new_v
    return v


def greedy_policy(q: np.ndarray) -> np.ndarray:
    """``pi(s) = argmax_a Q(s, a)`` (lowest action on ties)."""
    return np.argmax(q, axis=1)
