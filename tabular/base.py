"""A Gymnasium environment defined by its transition table, as toy-text environments are."""

from __future__ import annotations

from typing import Any, Sequence

import gymnasium as gym
import numpy as np

Transition = tuple[float, int, float, bool]


class TableEnv(gym.Env):
    """An MDP given by ``P[s][a] = [(prob, next_state, reward, terminated), ...]`` and an
    initial-state distribution. Subclasses build the table and draw themselves.

    Steps sample the next state from ``P`` with the environment's own generator
    (seeded by ``reset(seed=...)``), so value iteration on ``P`` and Q-learning on
    the environment see exactly the same MDP.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(self, P: dict[int, dict[int, list[Transition]]], initial: Sequence[float],
                 render_mode: str | None = None, action_names: Sequence[str] = ()) -> None:
        self.P = P
        self.nS = len(P)
        self.nA = len(P[0])
        self.observation_space = gym.spaces.Discrete(self.nS)
        self.action_space = gym.spaces.Discrete(self.nA)
        self.initial_distribution = np.asarray(initial, dtype=np.float64)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.render_mode = render_mode
        self.action_names = list(action_names) or [str(a) for a in range(self.nA)]
        self.s = 0
        self.last_action: int | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        self.s = int(self.np_random.choice(self.nS, p=self.initial_distribution))
        self.last_action = None
        return self.s, {"prob": 1.0}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
        transitions = self.P[self.s][int(action)]
        if len(transitions) == 1:
            prob, next_state, reward, terminated = transitions[0]
        else:
            i = int(self.np_random.choice(len(transitions), p=[t[0] for t in transitions]))
            prob, next_state, reward, terminated = transitions[i]
        self.s = int(next_state)
        self.last_action = int(action)
        return self.s, float(reward), bool(terminated), False, {"prob": prob}

    # --- rendering ----------------------------------------------------------
    def render(self) -> str | np.ndarray | None:
        if self.render_mode == "ansi":
            return self.render_text()
        if self.render_mode == "rgb_array":
            return self.render_rgb()
        return None

    def render_text(self) -> str:
        raise NotImplementedError

    def cell_colours(self) -> np.ndarray:
        """``(rows, cols, 3)`` uint8 colours of the cells; used by :meth:`render_rgb`."""
        raise NotImplementedError

    def render_rgb(self, cell: int = 48) -> np.ndarray:
        colours = self.cell_colours()
        image = np.repeat(np.repeat(colours, cell, axis=0), cell, axis=1)
        image[::cell, :, :] = 40  # grid lines
        image[:, ::cell, :] = 40
        return np.ascontiguousarray(image)


def line_colours(n: int, position: int, special: dict[int, tuple[int, int, int]]) -> np.ndarray:
    """A row of ``n`` cells: ``special`` colours, the agent's cell in orange."""
    colours = np.full((1, n, 3), 230, dtype=np.uint8)
    for index, colour in special.items():
        colours[0, index] = colour
    if 0 <= position < n:
        colours[0, position] = (255, 140, 0)
    return colours
