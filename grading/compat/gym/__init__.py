"""``gym`` inside lunar-grade's kernel only: the names the course's notebook uses, over Gymnasium.

The course's notebook was written for gym 0.24: ``gym.make('LunarLander-v2')``,
``env.reset()`` returning the observation alone, ``env.step(a)`` returning four values and
``env.render(mode='rgb_array')``. Gymnasium 1.x has none of these (and no LunarLander-v2),
so an environment made here is Gymnasium's, wrapped in :class:`OldStepAPI`. A notebook
that asks for the gym 0.26 API (``render_mode=`` or ``new_step_api=True`` given to
``make``) gets Gymnasium's environment as it is. Either way ``env.action_space.n`` is a
Python ``int`` as it was in gym (:mod:`lunar_grade_kernel`). Each substitution is noted once in
``GRADING_NOTES``, which the grader prints. See ``grading/compat/README.md``.
"""

from __future__ import annotations

import sys
from typing import Any

import gymnasium
from gymnasium import Env, Space, Wrapper, ObservationWrapper, ActionWrapper, RewardWrapper  # noqa: F401
from gymnasium import error, logger, spaces, utils, wrappers  # noqa: F401

from lunar_grade_kernel import NOTES as GRADING_NOTES  # noqa: F401 - gym.GRADING_NOTES: the kernel's notes
from lunar_grade_kernel import RENAMED
from lunar_grade_kernel import note as _note

__version__ = "0.24.1"

for _name in ("spaces", "wrappers", "error", "logger", "utils"):
    sys.modules[f"{__name__}.{_name}"] = getattr(gymnasium, _name)


def make(id: str, **kwargs: Any) -> Any:  # noqa: A002 - gym's own parameter name
    """Gymnasium's environment for ``id`` (renamed where gym's id is gone), with gym 0.24's API."""
    new_api = "render_mode" in kwargs or kwargs.pop("new_step_api", False)
    kwargs.pop("apply_api_compatibility", None)
    name = RENAMED.get(id, id)
    if id == "LunarLanderContinuous-v2":
        kwargs.setdefault("continuous", True)
    if name != id:
        _note(f"gym.make({id!r}) was made as Gymnasium's {name!r} ({id} is not in Gymnasium 1.x)")
    env = gymnasium.make(name, **(kwargs if new_api else {"render_mode": "rgb_array", **kwargs}))
    if new_api:
        return env
    _note("gym's environments use gym 0.24's API here: reset() gives the observation, step() four values")
    return OldStepAPI(env)



class OldStepAPI:
    """gym 0.24's ``reset``/``step``/``render`` over a Gymnasium environment; the rest passes through."""

    def __init__(self, env: Any) -> None:
        self.env = env

    def reset(self, *, seed: int | None = None, return_info: bool = False, options: dict | None = None) -> Any:
        observation, info = self.env.reset(seed=seed, options=options)
        return (observation, info) if return_info else observation

    def step(self, action: Any) -> tuple:
        observation, reward, terminated, truncated, info = self.env.step(action)
        return observation, reward, bool(terminated or truncated), info

    def render(self, mode: str = "rgb_array", **kwargs: Any) -> Any:
        return self.env.render()

    def seed(self, seed: int | None = None) -> list:
        self.env.reset(seed=seed)
        return [seed]

    def close(self) -> None:
        self.env.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.env, name)
