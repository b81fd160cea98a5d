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


def get_rng_state(env: gym.Env) -> dict:
    """The environment's random-generator state (JSON-serialisable)."""
    return env.unwrapped.np_random.bit_generator.state


def set_rng_state(env: gym.Env, state: dict) -> None:
    """Give the environment a PCG64 generator (Gymnasium's) in ``state``; no other kind is accepted."""
    if not isinstance(state, dict) or state.get("bit_generator") != "PCG64":
        raise ValueError("the environment's generator state is not a PCG64 state")
    generator = np.random.Generator(np.random.PCG64())
    generator.bit_generator.state = state
    env.unwrapped.np_random = generator


def outcome(env: gym.Env, state: np.ndarray, terminated: bool, truncated: bool) -> str:
    """How an episode ended: for LunarLander 'landed', 'crashed', 'flew away', 'timed out on
    the ground' or 'timed out in the air'; for other environments 'terminated', 'truncated'
    or 'timed out'.

    A lander earns its +100 only once Box2D puts the resting body to sleep; one that stands on
    its legs but fires an engine now and then stays awake and 'times out on the ground', the
    first fast preset's commonest failure (``docs/tuning.md``, "Where the points go").
    """
    base = env.unwrapped
    lunar_lander = hasattr(base, "lander") and hasattr(base, "game_over")
    if truncated and not terminated:
        if lunar_lander:
            on_ground = state[6] > 0.5 or state[7] > 0.5  # the leg-contact flags
            return "timed out on the ground" if on_ground else "timed out in the air"
        return "timed out"
    if lunar_lander:
        if base.game_over:
            return "crashed"
        if abs(float(state[0])) >= 1.0:
            return "flew away"
        if not base.lander.awake:
            return "landed"
    return "terminated" if terminated else "truncated"
