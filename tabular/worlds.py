"""The small worlds of the lessons: the Mars Rover MDP, the chain maze and the 5x5 grid world.

Each is a :class:`tabular.base.TableEnv`: Discrete spaces, a transition table ``P``
and ``render_mode`` "ansi" or "rgb_array", so value iteration and Q-learning run
unchanged on all of them and on Gymnasium's FrozenLake.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

import numpy as np

from tabular.base import TableEnv, Transition, line_colours

RANDOM_WALK = {-1: 0.4, 0: 0.2, 1: 0.4}
"""The seed's stochastic rover: 40% left, 20% stay, 40% right (an end cell keeps the
left or right share as 'stay', as the edge rows of the seed's matrix do)."""


def _merge(outcomes: Sequence[Transition]) -> list[Transition]:
    """Add up the probabilities of identical (next_state, reward, terminated) outcomes."""
    total: dict[tuple[int, float, bool], float] = defaultdict(float)
    for prob, s2, r, done in outcomes:
        if prob > 0:
            total[(s2, r, done)] += prob
    return [(p, s2, r, done) for (s2, r, done), p in total.items()]


class MarsRover(TableEnv):
    """The Mars Rover MDP, configurable to both versions of the lessons.

    ## Action Space
    ``Discrete(3)``: 0 left, 1 stay, 2 right (``actions=("left", "stay", "right")``),
    or ``Discrete(2)``: 0 left, 1 right (the course's variant).

    ## Observation Space
    ``Discrete(n)``: the rover's cell, 0-based (the seed's ``s1`` is 0).

    ## Rewards
    ``reward_on="arrival"`` (seed 001): the reward of the cell the rover arrives in,
    ``[0, 1, 0, 0, 0, 10, 0]``; falling off pays 0.
    ``reward_on="state"`` (the course's variant): the reward of the cell the rover is
    in, ``R(s)``, so that ``Q(s, a) = R(s) + gamma max_a' Q(s', a')``; terminal cells
    pay their reward (100 left end, 40 right end) on the last step.

    ## Starting State
    ``start`` (seed 001: ``s4``, index 3), or uniform over the non-terminal cells
    with ``start=None``.

    ## Episode End
    Termination: the rover falls off (left from the first cell, right from the last)
    or acts in a terminal cell (``terminal_states``). Truncation: a time limit, if
    the caller sets one.

    ## Randomness
    ``misstep_prob``: the rover moves the opposite way (the course's option).
    ``slip``: with this probability the command is ignored and the rover follows
    the seed's random walk :data:`RANDOM_WALK`. Both 0 by default (deterministic).
    """

    def __init__(self, rewards: Sequence[float] = (0, 1, 0, 0, 0, 10, 0), start: int | None = 3,
                 actions: Sequence[str] = ("left", "stay", "right"), reward_on: str = "arrival",
                 terminal_states: Sequence[int] = (), misstep_prob: float = 0.0, slip: float = 0.0,
                 render_mode: str | None = None) -> None:
        moves = {"left": -1, "stay": 0, "right": 1}
        if any(a not in moves for a in actions):
            raise ValueError(f"actions must be among {list(moves)}")
        if reward_on not in ("arrival", "state"):
            raise ValueError("reward_on must be 'arrival' or 'state'")
        if not (0 <= misstep_prob <= 1 and 0 <= slip <= 1 and misstep_prob + slip <= 1):
            raise ValueError("misstep_prob and slip must be probabilities that add up to at most 1")
        self.rewards = [float(r) for r in rewards]
        self.terminal_states = set(terminal_states)
        n = len(self.rewards)
        P: dict[int, dict[int, list[Transition]]] = {}
        for s in range(n):
            P[s] = {}
            for a, name in enumerate(actions):
                if s in self.terminal_states:
                    P[s][a] = [(1.0, s, self.rewards[s], True)]
                    continue
                d = moves[name]
                outcomes = [(1.0 - misstep_prob - slip, d, False), (misstep_prob, -d, False)]
                outcomes += [(slip * p, m, True) for m, p in RANDOM_WALK.items()]
                transitions = []
                for prob, m, wander in outcomes:
                    s2 = s + m
                    if not 0 <= s2 < n:
                        if wander:  # the random walk does not leave the platform
                            transitions.append((prob, s, self._reward(s, s), False))
                        else:
                            transitions.append((prob, s, self.rewards[s] if reward_on == "state" else 0.0, True))
                        continue
                    transitions.append((prob, s2, self._reward(s, s2) if reward_on == "arrival"
                                        else self.rewards[s], False))
                P[s][a] = _merge(transitions)
        self.reward_on = reward_on
        if start is None:
            free = [s for s in range(n) if s not in self.terminal_states]
            initial = np.zeros(n)
            initial[free] = 1.0 / len(free)
        else:
            initial = np.eye(n)[start]
        super().__init__(P, initial, render_mode, action_names=list(actions))

    def _reward(self, s: int, s2: int) -> float:
        return self.rewards[s2]

    @classmethod
    def course(cls, misstep_prob: float = 0.0, start: int | None = None,
               render_mode: str | None = None) -> "MarsRover":
        """The course's 6-state rover: rewards 100 (left end) and 40 (right end), terminal ends,
        actions left and right; use gamma 0.5."""
        return cls(rewards=(100, 0, 0, 0, 0, 40), start=start, actions=("left", "right"), reward_on="state",
                   terminal_states=(0, 5), misstep_prob=misstep_prob, render_mode=render_mode)

    def render_text(self) -> str:
        cells = []
        for i, r in enumerate(self.rewards):
            mark = "R" if i == self.s else ("T" if i in self.terminal_states else ".")
            cells.append(f"s{i + 1}:{mark}({r:g})")
        return " ".join(cells) + "\n"

    def cell_colours(self) -> np.ndarray:
        top = max(self.rewards) or 1.0
        special = {i: (int(255 - 200 * r / top), 255, int(255 - 200 * r / top))
                   for i, r in enumerate(self.rewards) if r > 0}
        return line_colours(len(self.rewards), self.s, special)


def course_rover(misstep_prob: float = 0.0, start: int | None = None,
                 render_mode: str | None = None) -> MarsRover:
    """:meth:`MarsRover.course`, as an entry point for ``gymnasium.make("lunar_kit/MarsRoverCourse-v0")``."""
    return MarsRover.course(misstep_prob=misstep_prob, start=start, render_mode=render_mode)


class ChainMaze(TableEnv):
    """The 6-state chain maze of seed 004.

    ## Action Space
    ``Discrete(2)``: 0 left, 1 right.

    ## Observation Space
    ``Discrete(n)``: the position; moving left from 0 stays at 0.

    ## Rewards
    1 on reaching the last state, 0 otherwise.

    ## Starting State
    0.

    ## Episode End
    Termination on reaching the last state.
    """

    def __init__(self, n: int = 6, render_mode: str | None = None) -> None:
        goal = n - 1
        P: dict[int, dict[int, list[Transition]]] = {}
        for s in range(n):
            if s == goal:
                P[s] = {a: [(1.0, s, 0.0, True)] for a in range(2)}
                continue
            P[s] = {}
            for a, d in enumerate((-1, 1)):
                s2 = min(max(s + d, 0), goal)
                P[s][a] = [(1.0, s2, 1.0 if s2 == goal else 0.0, s2 == goal)]
        self.n = n
        super().__init__(P, np.eye(n)[0], render_mode, action_names=["left", "right"])

    def render_text(self) -> str:
        return "".join("A" if i == self.s else ("G" if i == self.n - 1 else ".") for i in range(self.n)) + "\n"

    def cell_colours(self) -> np.ndarray:
        return line_colours(self.n, self.s, {self.n - 1: (60, 200, 60)})


GRID_ACTIONS = ("left", "down", "right", "up")  # FrozenLake's order
GRID_MOVES = {0: (0, -1), 1: (1, 0), 2: (0, 1), 3: (-1, 0)}
ARROWS = {0: "←", 1: "↓", 2: "→", 3: "↑"}


class GridWorld(TableEnv):
    """The 5x5 grid world of seed 002: reach the goal, which moves every episode.

    ## Action Space
    ``Discrete(4)``: 0 left, 1 down, 2 right, 3 up (FrozenLake's order).

    ## Observation Space
    ``Discrete(size**4)``: ``agent_cell * size**2 + goal_cell``, cells numbered row by row.

    ## Rewards
    Each step: ``step_penalty`` (-0.1), plus ``shaping * (d_before - d_after)`` where
    ``d`` is the Manhattan distance to the goal (0.5 per cell closer, -0.5 per cell
    further); walking into the wall: ``wall_penalty`` (-1) and the agent stays;
    reaching the goal: ``goal_reward`` (+10) on top.

    ## Starting State
    Agent and goal on two distinct cells drawn uniformly.

    ## Episode End
    Termination on reaching the goal. Truncation: a time limit, if the caller sets one.
    """

    def __init__(self, size: int = 5, step_penalty: float = -0.1, wall_penalty: float = -1.0,
                 goal_reward: float = 10.0, shaping: float = 0.5, render_mode: str | None = None) -> None:
        self.size = size
        cells = size * size
        P: dict[int, dict[int, list[Transition]]] = {}
        for agent in range(cells):
            for goal in range(cells):
                s = agent * cells + goal
                if agent == goal:  # unreachable as a start; absorbing
                    P[s] = {a: [(1.0, s, 0.0, True)] for a in range(4)}
                    continue
                P[s] = {}
                r0, c0 = divmod(agent, size)
                gr, gc = divmod(goal, size)
                for a, (dr, dc) in GRID_MOVES.items():
                    r1, c1 = r0 + dr, c0 + dc
                    if not (0 <= r1 < size and 0 <= c1 < size):
                        P[s][a] = [(1.0, s, step_penalty + wall_penalty, False)]
                        continue
                    before = abs(r0 - gr) + abs(c0 - gc)
                    after = abs(r1 - gr) + abs(c1 - gc)
                    reward = step_penalty + shaping * (before - after)
                    reached = (r1, c1) == (gr, gc)
                    if reached:
                        reward += goal_reward
                    P[s][a] = [(1.0, (r1 * size + c1) * cells + goal, reward, reached)]
        initial = np.array([0.0 if agent == goal else 1.0 for agent in range(cells) for goal in range(cells)])
        super().__init__(P, initial / initial.sum(), render_mode, action_names=list(GRID_ACTIONS))

    def decode(self, state: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """``((agent_row, agent_col), (goal_row, goal_col))``."""
        agent, goal = divmod(int(state), self.size * self.size)
        return divmod(agent, self.size), divmod(goal, self.size)

    def encode(self, agent: tuple[int, int], goal: tuple[int, int]) -> int:
        cells = self.size * self.size
        return (agent[0] * self.size + agent[1]) * cells + goal[0] * self.size + goal[1]

    def render_text(self) -> str:
        (ar, ac), (gr, gc) = self.decode(self.s)
        rows = []
        for r in range(self.size):
            rows.append(" ".join("A" if (r, c) == (ar, ac) else "G" if (r, c) == (gr, gc) else "."
                                 for c in range(self.size)))
        return "\n".join(rows) + "\n"

    def cell_colours(self) -> np.ndarray:
        (ar, ac), (gr, gc) = self.decode(self.s)
        colours = np.full((self.size, self.size, 3), 230, dtype=np.uint8)
        colours[gr, gc] = (60, 200, 60)
        colours[ar, ac] = (255, 140, 0)
        return colours
