"""Making and checking Gymnasium environments for the DQN, and how a LunarLander episode ended."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np

from lunar.errors import UserError


def make_env(env_id: str, render_mode: str | None = None) -> gym.Env:
    """``gym.make(env_id)``, refused with a UserError unless it has a flat Box
    observation and Discrete actions (what a Q-network with one output per action needs).
    An id with a module prefix (``module:Env-v0``) is refused before Gymnasium imports the module."""
    if ":" in env_id:
        raise UserError(f"environment {env_id!r}: give a registered Gymnasium id, without a 'module:' prefix "
                        "(the kit does not import modules named in a configuration)")
    with warnings.catch_warnings(record=True) as caught:  # a refused id's warnings only repeat its error
        warnings.simplefilter("always")
        try:
            env = gym.make(env_id, render_mode=render_mode)
        except gym.error.Error as error:
            raise UserError(f"unknown or unavailable Gymnasium environment {env_id!r}: {error}") from None
        except ImportError as error:
            raise UserError(f"environment {env_id!r} needs a package that is not installed: {error}") from None
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    check_spaces(env, env_id)
    return env


def check_spaces(env: gym.Env, env_id: str) -> None:
    if not isinstance(env.action_space, gym.spaces.Discrete):
        env.close()
        raise UserError(f"environment {env_id!r} has {type(env.action_space).__name__} actions; "
                        "a DQN needs Discrete actions")
    space = env.observation_space
    if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
        env.close()
        raise UserError(f"environment {env_id!r} has observation space {space}; "
                        "a DQN here needs a flat (1-D) Box")


def space_sizes(env: gym.Env) -> tuple[int, int]:
    """``(state_size, num_actions)``."""
    return int(np.prod(env.observation_space.shape)), int(env.action_space.n)
