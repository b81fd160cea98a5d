"""The lessons' worlds registered with Gymnasium under one namespace: ``gymnasium.make("lunar_kit/MarsRover-v0")``.

Each id has a spec and a ``TimeLimit`` (the step cap its Q-learning settings use), so a world
made here is wrapped as every Gymnasium environment is. FrozenLake and Taxi are Gymnasium's
own (``FrozenLake-v1``, ``Taxi-v4``). Registered when :mod:`tabular.registry` is imported (by :mod:`tabular` too).
"""

from __future__ import annotations

import gymnasium as gym

NAMESPACE = "lunar_kit"
WORLD_IDS = {
    "MarsRover-v0": ("tabular.worlds:MarsRover", 50),
    "MarsRoverCourse-v0": ("tabular.worlds:course_rover", 50),
    "ChainMaze-v0": ("tabular.worlds:ChainMaze", 100),
    "GridWorld-v0": ("tabular.worlds:GridWorld", 50),
}
"""id -> (entry point, max_episode_steps)."""


def register_worlds() -> None:
    """Register each of :data:`WORLD_IDS` once (importing tabular again registers nothing twice)."""
    for name, (entry_point, steps) in WORLD_IDS.items():
        env_id = f"{NAMESPACE}/{name}"
        if env_id not in gym.registry:
            gym.register(env_id, entry_point=entry_point, max_episode_steps=steps)
