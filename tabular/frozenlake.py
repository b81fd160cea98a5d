"""Gymnasium's FrozenLake-v1: making it (built-in or custom maps) and scoring policies exactly."""

from __future__ import annotations

from typing import Sequence

import gymnasium as gym
import numpy as np

from tabular.errors import UserError

MAPS = ("4x4", "8x8")


def parse_map(text: str) -> list[str]:
    """A custom map such as ``"SFFF,FHFH,FFFH,HFFG"``: rows of S (start), F (frozen),
    H (hole), G (goal), all the same length, exactly one S and at least one G."""
    rows = [row.strip().upper() for row in text.replace("/", ",").split(",") if row.strip()]
    if not rows:
        raise UserError("the custom map is empty; give rows like SFFF,FHFH,FFFH,HFFG")
    if len({len(row) for row in rows}) != 1:
        raise UserError(f"the custom map's rows differ in length: {', '.join(rows)}")
    bad = sorted(set("".join(rows)) - set("SFHG"))
    if bad:
        raise UserError(f"the custom map has unknown cells {''.join(bad)!r}; use S, F, H and G only")
    flat = "".join(rows)
    if flat.count("S") != 1:
        raise UserError(f"the custom map needs exactly one start S, found {flat.count('S')}")
    if "G" not in flat:
        raise UserError("the custom map has no goal G")
    return rows


def make_frozenlake(map_name: str = "4x4", slippery: bool = True, custom_map: str | None = None,
                    render_mode: str | None = None) -> gym.Env:
    """``gym.make("FrozenLake-v1", ...)`` with a built-in or validated custom map."""
    if custom_map is not None:
        desc = parse_map(custom_map)
        return gym.make("FrozenLake-v1", desc=desc, is_slippery=slippery, render_mode=render_mode,
                        max_episode_steps=100 if len(desc) * len(desc[0]) <= 16 else 200)
    if map_name not in MAPS:
        raise UserError(f"unknown FrozenLake map {map_name!r}; choose {' or '.join(MAPS)} or --custom-map")
    return gym.make("FrozenLake-v1", map_name=map_name, is_slippery=slippery, render_mode=render_mode)


def goal_tables(env: gym.Env) -> tuple[np.ndarray, np.ndarray]:
    """From the ``P`` table: ``G[s, a]``, the probability of stepping into the goal, and
    ``T[s, a, s']``, the probability of stepping to a non-terminal ``s'`` (holes end the episode)."""
    base = env.unwrapped
    n, actions = base.observation_space.n, base.action_space.n
    goal, moves = np.zeros((n, actions)), np.zeros((n, actions, n))
    for s in range(n):
        for a in range(actions):
            for prob, s2, reward, terminated in base.P[s][a]:
                if terminated:
                    goal[s, a] += prob * (reward > 0)
                else:
                    moves[s, a, s2] += prob
    return goal, moves


def best_success_probability(env: gym.Env, horizon: int) -> float:
    """The highest probability of reaching the goal within ``horizon`` steps over all policies,
    by finite-horizon dynamic programming on the ``P`` table:
    ``W_0 = 0``, ``W_h(s) = max_a [G(s, a) + sum_s' T(s, a, s') W_{h-1}(s')]``, and the answer is
    ``sum_s p_0(s) W_horizon(s)``. The best policy may depend on the steps left; a policy
    that looks only at the state (like a Q-table's greedy one) can do no better."""
    goal, moves = goal_tables(env)
    w = np.zeros(goal.shape[0])
    for _ in range(horizon):
        w = (goal + moves @ w).max(axis=1)
    return float(np.asarray(env.unwrapped.initial_state_distrib, dtype=np.float64) @ w)


def exact_success_probability(env: gym.Env, policy: Sequence[int], horizon: int) -> float:
    """Probability that ``policy`` reaches the goal within ``horizon`` steps, from the ``P`` table:
    ``p_0 = initial distribution``, ``p_{t+1}(s') = sum_s p_t(s) P(s'|s, pi(s))`` over non-terminal ``s``."""
    base = env.unwrapped
    n = base.observation_space.n
    dist = np.asarray(base.initial_state_distrib, dtype=np.float64).copy()
    reached = 0.0
    for _ in range(horizon):
        new = np.zeros(n)
        for s in np.flatnonzero(dist):
            for prob, s2, reward, terminated in base.P[s][int(policy[s])]:
                if terminated:
                    reached += dist[s] * prob * (reward > 0)
                else:
                    new[s2] += dist[s] * prob
        dist = new
    return float(reached)

