"""The worlds of the lessons, and Q-learning on any of them measured against value iteration.

``tabular.train("frozenlake", map="8x8")`` makes the world, learns it with the world's
default Q-learning settings (any of them overridden by keyword), solves it exactly, and
returns an :class:`Outcome`. Each :class:`World` says how to make it, which settings
learn it, and how to report the result; the command line only parses and prints.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields, replace
from typing import Any, Callable

import gymnasium as gym
import numpy as np
import pandas as pd

from tabular.algorithms import value_iteration
from tabular.errors import UserError
from tabular.frozenlake import make_frozenlake
from tabular.qlearning import QLearningConfig, QLearningResult, q_learning
from tabular.registration import register_worlds
from tabular.reports import frozenlake_report, gridworld_report, parse_cell, q_table_report
from tabular.unit2 import (frozenlake_unit2_report, frozenlake_unit2_settings, make_frozenlake_unit2, make_taxi,
                           taxi_report, unit2_settings)

register_worlds()  # the lunar_kit/ ids the worlds are made from (gymnasium.make("lunar_kit/MarsRover-v0"), ...)


@dataclass
class Outcome:
    """A world learned by Q-learning, beside its exact solution."""

    world: str
    options: dict[str, Any]
    env: Any
    config: QLearningConfig
    result: QLearningResult
    v_star: np.ndarray
    q_star: np.ndarray

    @property
    def history(self) -> pd.DataFrame:
        """One row per training episode: return, epsilon and steps."""
        r = self.result
        return pd.DataFrame({"episode": np.arange(1, len(r.returns) + 1), "return": r.returns,
                             "epsilon": r.epsilons, "steps": r.steps})

    @property
    def max_q_error(self) -> float:
        return float(np.max(np.abs(self.result.q - self.q_star)))


@dataclass(frozen=True)
class World:
    """One world: ``make(**options)`` builds (and checks) it, ``settings(env)`` gives the
    Q-learning settings that learn it, ``report(outcome)`` the text that shows the result."""

    help: str
    options: dict[str, Any]
    """The world's own options and their defaults (``make`` and ``report`` read them)."""
    make: Callable[..., gym.Env]
    settings: Callable[[gym.Env], QLearningConfig]
    report: Callable[[Outcome], str] = q_table_report


def _frozenlake_settings(env: gym.Env) -> QLearningConfig:
    """Settings that bring the greedy policy within 0.02 of the best achievable success.

    Ice that does not slip: the lessons' constant step size. Slippery ice: the step size of
    each (state, action) decays as ``0.1 * 3000 / (3000 + n)`` (``alpha_visits``): a constant
    0.1 leaves Q-values too noisy to rank actions whose values differ by 0.002, which is
    the case in a few squares of the 8x8 map where the wrong choice costs 0.01 to 0.03 of
    success. gamma 0.985: the stationary policy that is best within the time limit. Epsilon
    reaches its floor at 60% of the run. Q starts at 1, above any return (``q_init``): states tried
    mostly in the first episodes no longer keep values built from those episodes' targets (seed 11
    fell 0.075 short without it). The episode cap is the environment's own time limit.
    Chosen on seeds 100-119 and 11-26 (``docs/tabular.md``); reported on seeds 3000-3049.
    """
    large = env.unwrapped.observation_space.n > 16
    if not env.spec.kwargs.get("is_slippery", True):
        return QLearningConfig(episodes=5000 if large else 2000, alpha=0.5, gamma=0.99,
                               decay=0.999 if large else 0.995, max_steps=env.spec.max_episode_steps or 100)
    episodes = 60_000 if large else 10_000
    return QLearningConfig(episodes=episodes, alpha=0.1, alpha_visits=3000, gamma=0.985, q_init=1.0,
                           decay=math.exp(math.log(0.01) / (0.6 * episodes)),
                           max_steps=env.spec.max_episode_steps or 100)


def _make_frozenlake(map: str, slippery: bool, custom_map: str | None, eval_episodes: int) -> gym.Env:
    if eval_episodes <= 0:
        raise UserError("eval_episodes must be positive")
    return make_frozenlake(map, slippery, custom_map)


def _make_rover(variant: str, misstep_prob: float, slip: float) -> gym.Env:
    if variant not in ("seed", "course"):
        raise UserError(f"variant must be 'seed' or 'course', got {variant!r}")
    try:
        return gym.make("lunar_kit/MarsRoverCourse-v0", misstep_prob=misstep_prob) if variant == "course" else \
            gym.make("lunar_kit/MarsRover-v0", misstep_prob=misstep_prob, slip=slip)
    except ValueError as error:
        raise UserError(str(error)) from None


def _make_chain(states: int) -> gym.Env:
    return gym.make("lunar_kit/ChainMaze-v0", n=states)


def _make_gridworld(goal: str) -> gym.Env:
    env = gym.make("lunar_kit/GridWorld-v0")
    parse_cell(goal, env.unwrapped.size)  # refused before training, not after
    return env


# Q-learning is off-policy: the rovers are learned exactly with a uniformly random behaviour
# policy (constant epsilon 1).
WORLDS: dict[str, World] = {
    "frozenlake": World(
        "Gymnasium's FrozenLake-v1", {"map": "4x4", "slippery": True, "custom_map": None, "eval_episodes": 1000},
        _make_frozenlake, _frozenlake_settings, frozenlake_report),
    "mars-rover": World(
        "the Mars Rover MDP (seed 001, or the course's 6-state variant)",
        {"variant": "seed", "misstep_prob": 0.0, "slip": 0.0}, _make_rover,
        lambda env: QLearningConfig(episodes=3000, alpha=0.5, gamma=0.5 if env.unwrapped.nA == 2 else 0.9,  # the course's
                                    schedule="constant", max_steps=50)),                  # 2-action rover: 0.5
    "chain": World(
        "the 6-state chain maze of seed 004", {"states": 6}, _make_chain,
        lambda env: QLearningConfig(episodes=1000, alpha=0.1, gamma=0.9, decay=0.995, epsilon_end=0.01,
                                    max_steps=100)),
    "frozenlake-unit2": World(
        "FrozenLake-v1 4x4 without slipping, with the Deep RL course's Unit 2 settings", {"eval_episodes": 100},
        lambda eval_episodes: make_frozenlake_unit2(), frozenlake_unit2_settings, frozenlake_unit2_report),
    "taxi": World(
        "Gymnasium's Taxi (v4: the course's Taxi-v3) with the Deep RL course's Unit 2 settings", {},
        make_taxi, unit2_settings, taxi_report),
    "gridworld": World(
        "the 5x5 grid world of seed 002", {"goal": "2,2"}, _make_gridworld,
        lambda env: QLearningConfig(episodes=50000, alpha=0.5, gamma=0.9, decay=0.9998, epsilon_end=0.05,
                                    max_steps=50), gridworld_report),
}

SETTINGS = tuple(f.name for f in fields(QLearningConfig))
"""Q-learning settings that ``train`` takes as keywords (``episodes``, ``alpha``, ``gamma``...)."""

WHOLE_NUMBERS = {"episodes": (1, 10_000_000), "max_steps": (1, 1_000_000), "seed": (0, 2**31 - 1),
                 "states": (2, 10_000), "eval_episodes": (1, 10_000_000)}
"""The whole-number options and settings, and their limits."""


def check_options(world: str, options: dict[str, Any]) -> None:
    """UserError unless ``world`` is known and each keyword of :func:`train` is one of its options
    or a setting, of the kind of its default and, for a whole number, within :data:`WHOLE_NUMBERS`
    (ranges of the others are the world's and :class:`QLearningConfig`'s to check)."""
    if world not in WORLDS:
        raise UserError(f"unknown world {world!r}; choose one of {', '.join(WORLDS)}")
    defaults = {**{f.name: f.default for f in fields(QLearningConfig)}, **WORLDS[world].options}
    for name, value in options.items():
        if name not in defaults:
            raise UserError(f"{name!r} is not an option of {world!r} nor a Q-learning setting")
        _check_kind(name, value, defaults[name])


def _check_kind(name: str, value: Any, default: Any) -> None:
    if name in WHOLE_NUMBERS:
        low, high = WHOLE_NUMBERS[name]
        if not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and low <= value <= high):
            raise UserError(f"{name} must be a whole number between {low:,} and {high:,}, got {value!r}")
    elif isinstance(default, bool):
        if not isinstance(value, bool):
            raise UserError(f"{name} must be True or False, got {value!r}")
    elif isinstance(default, float):  # its range (NaN included) is checked where it is used
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise UserError(f"{name} must be a number, got {value!r}")
    elif not isinstance(value, str) and not (default is None and value is None):
        raise UserError(f"{name} must be a string, got {value!r}")


def train(world: str, *, on_episode: Callable[[int, float, float], None] | None = None,
          snapshots: int = 0, **options: Any) -> Outcome:
    """Q-learning on ``world`` (a key of :data:`WORLDS`), compared with value iteration.

    Keywords are the world's options (``map="8x8"``, ``slippery=False``, ``variant="course"``...)
    or Q-learning settings overriding the world's (``episodes=``, ``alpha=``, ``gamma=``,
    ``seed=``...). ``on_episode(episode, return, epsilon)`` sees each training episode;
    ``snapshots=10`` keeps the Q-table of the first episode and of one every tenth of the run.
    """
    check_options(world, options)
    spec = WORLDS[world]
    world_options = {**spec.options, **{k: v for k, v in options.items() if k in spec.options}}
    env = spec.make(**world_options)
    try:
        config = replace(spec.settings(env), **{k: v for k, v in options.items() if k in SETTINGS})
    except ValueError as error:
        raise UserError(str(error)) from None
    if not 0 <= config.gamma < 1:
        raise UserError(f"gamma must be in [0, 1) to compare with value iteration, got {config.gamma}")
    stages = {0, *(config.episodes * i // snapshots - 1 for i in range(1, snapshots + 1))} if snapshots else ()
    result = q_learning(env, config, on_episode=on_episode, snapshots=stages)
    base = env.unwrapped
    v_star, q_star = value_iteration(base.P, base.observation_space.n, base.action_space.n, config.gamma)
    return Outcome(world, world_options, env, config, result, v_star, q_star)
