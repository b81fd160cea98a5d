"""Q-learning on any environment with Discrete states and actions, and policy scoring."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from tabular.algorithms import (epsilon_greedy, exponential_epsilon, multiplicative_epsilon, q_learning_update,
                                search_then_converge)


@dataclass(frozen=True)
class QLearningConfig:
    """Hyperparameters of tabular Q-learning (defaults: seed 004's chain maze)."""

    episodes: int = 1000
    """Training episodes."""
    alpha: float = 0.1
    """Learning rate in ``Q <- (1 - alpha) Q + alpha (r + gamma max Q')``."""
    alpha_visits: float = 0.0
    """0: ``alpha`` on every update (the lessons' rule). ``k > 0``: the ``n``-th update of
    ``(s, a)`` uses ``alpha * k / (k + n)`` (:func:`~tabular.algorithms.search_then_converge`)."""
    gamma: float = 0.9
    """Discount factor."""
    epsilon_start: float = 1.0
    """Exploration rate of the first episode."""
    epsilon_end: float = 0.01
    """Floor of the exploration rate."""
    schedule: str = "multiplicative"
    """'multiplicative': ``eps <- max(end, decay * eps)`` per episode; 'exponential':
    ``eps_t = end + (start - end) exp(-t / decay)``; 'constant': ``eps = start``."""
    decay: float = 0.995
    """The decay factor (multiplicative) or time constant in episodes (exponential)."""
    max_steps: int = 100
    """Step cap of an episode (a truncation: the update still bootstraps)."""
    seed: int = 0
    """Seeds the environment and the agent's generator."""
    q_init: float = 0.0
    """Every Q-value's starting value (the lessons' 0). Optimistic (at or above every return): an
    action tried little keeps a high value until its own updates bring it down, so greedy play
    tries it, and no estimate is built mostly from targets of the first episodes."""

    def __post_init__(self) -> None:
        if self.episodes <= 0 or self.max_steps <= 0:
            raise ValueError("episodes and max_steps must be positive")
        if not 0 < self.alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {self.alpha}")
        if not 0 <= self.alpha_visits < float("inf"):
            raise ValueError(f"alpha_visits must be 0 (constant alpha) or a positive number, got {self.alpha_visits}")
        if not 0 <= self.gamma <= 1:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        if self.schedule not in ("multiplicative", "exponential", "constant"):
            raise ValueError(f"unknown epsilon schedule {self.schedule!r}")
        if not (0 < self.decay <= 1 if self.schedule == "multiplicative" else 0 < self.decay < float("inf")):
            raise ValueError(f"epsilon decay must be in (0, 1] (a time constant > 0 for the exponential "
                             f"schedule), got {self.decay}")
        if not (0 <= self.epsilon_end <= 1 and 0 <= self.epsilon_start <= 1):
            raise ValueError("epsilon_start and epsilon_end must be in [0, 1]")

    def epsilon(self, episode: int, previous: float) -> float:
        """Exploration rate of ``episode`` (0-based) given the previous episode's."""
        if self.schedule == "constant" or episode == 0:
            return self.epsilon_start
        if self.schedule == "exponential":
            return exponential_epsilon(episode, self.epsilon_start, self.epsilon_end, self.decay)
        return multiplicative_epsilon(previous, self.decay, self.epsilon_end)


@dataclass
class QLearningResult:
    q: np.ndarray
    returns: list[float] = field(default_factory=list)
    epsilons: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    snapshots: dict[int, tuple[np.ndarray, float]] = field(default_factory=dict)
    """Episode (0-based) -> (the Q-table as that episode began, its epsilon), for the episodes asked."""


def q_learning(env: Any, config: QLearningConfig,
               on_episode: Callable[[int, float, float], None] | None = None,
               snapshots: Iterable[int] = ()) -> QLearningResult:
    """Train a Q-table on ``env`` with epsilon-greedy exploration.

    ``on_episode(episode, return, epsilon)`` is called after each episode (live plots);
    the Q-table is copied as each episode in ``snapshots`` begins (training animations).
    Steps go through ``env`` and its wrappers (a ``TimeLimit`` included) with the cap
    ``config.max_steps``; a capped or time-limited episode is a truncation and its last
    update bootstraps.
    """
    snapshots = set(snapshots)
    q = np.full((env.observation_space.n, env.action_space.n), float(config.q_init))
    updates = np.zeros(q.shape, dtype=np.int64)  # n(s, a), for alpha_visits
    rng = np.random.default_rng(config.seed)
    result = QLearningResult(q)
    epsilon, alpha, k = config.epsilon_start, config.alpha, config.alpha_visits or None
    seed: int | None = config.seed
    for episode in range(config.episodes):
        epsilon = config.epsilon(episode, epsilon)
        if episode in snapshots:
            result.snapshots[episode] = (q.copy(), epsilon)
        state, _ = env.reset(seed=seed)
        seed = None
        total, t = 0.0, 0
        for t in range(1, config.max_steps + 1):
            action = epsilon_greedy(q[state], epsilon, rng)
            next_state, reward, terminated, truncated, _ = env.step(action)
            if k is not None:
                updates[state, action] += 1
                alpha = search_then_converge(config.alpha, k, int(updates[state, action]))
            q_learning_update(q, state, action, reward, next_state, terminated, alpha, config.gamma)
            if terminated and config.q_init:
                q[next_state] = 0.0  # a terminal state's values are 0, whatever the optimistic start
            total += reward
            state = next_state
            if terminated or truncated:
                break
        result.returns.append(total)
        result.epsilons.append(epsilon)
        result.steps.append(t)
        if on_episode is not None:
            on_episode(episode, total, epsilon)
    return result


def play(env: Any, act: Callable[[int], int], seed: int, max_steps: int,
         after_each: Callable[[], None] = lambda: None) -> tuple[float, int, str, list[int]]:
    """One episode from ``reset(seed=seed)``, acting with ``act(state)``: ``(return, steps, ending, states)``.

    ``ending`` is "goal" (terminated on a positive reward), "hole" (terminated otherwise) or "time
    limit". ``after_each()`` runs after the reset and after every step (to render a frame). Steps go
    through ``env``'s wrappers, so its ``TimeLimit`` may end the episode before ``max_steps``.
    """
    state, _ = env.reset(seed=seed)
    after_each()
    states, total, t = [state], 0.0, 0
    for t in range(1, max_steps + 1):
        state, reward, terminated, truncated, _ = env.step(act(state))
        after_each()
        states.append(state)
        total += reward
        if terminated:
            return total, t, "goal" if reward > 0 else "hole", states
        if truncated:
            break
    return total, t, "time limit", states


def run_policy(env: Any, policy: np.ndarray, seed: int, max_steps: int) -> tuple[float, int, bool, list[int]]:
    """One greedy episode of ``policy`` (a state -> action table): ``(return, steps, reached_goal, states)``."""
    total, t, ending, states = play(env, lambda s: int(policy[s]), seed, max_steps)
    return total, t, ending == "goal", states


def success_rate(env: Any, policy: np.ndarray, episodes: int = 1000, seed: int = 0, max_steps: int = 100) -> float:
    """Share of ``episodes`` greedy episodes (seeds ``seed, seed + 1, ...``) that reach the goal."""
    return float(np.mean([run_policy(env, policy, seed + i, max_steps)[2] for i in range(episodes)]))
