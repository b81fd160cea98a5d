"""What ``python -m tabular`` prints about a learned world: Q-tables beside the optimal
values, greedy policies drawn on the map, and FrozenLake's success rates."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from tabular.algorithms import greedy_policy, policy_evaluation
from tabular.errors import UserError
from tabular.frozenlake import best_success_probability, exact_success_probability
from tabular.qlearning import success_rate
from tabular.worlds import ARROWS, GRID_ACTIONS, GridWorld

EVALUATION_SEED = 10_000
"""First seed of the episodes that measure success rates (far from the training seeds)."""


def action_names(env: Any) -> list[str]:
    names = getattr(env.unwrapped, "action_names", None)
    return list(names) if names else list(GRID_ACTIONS)


def q_table_frame(outcome: Any, states: Sequence[int] | None = None) -> pd.DataFrame:
    """The learned Q-table with V* beside it, rows and columns labelled."""
    rows = list(range(outcome.result.q.shape[0]) if states is None else states)
    frame = pd.DataFrame(outcome.result.q[rows], columns=[f"Q({a})" for a in action_names(outcome.env)],
                         index=[f"s{s}" for s in rows])
    frame["max Q"] = frame.max(axis=1)
    frame["V* (value iteration)"] = outcome.v_star[rows]
    return frame


def _table(frame: pd.DataFrame) -> str:
    with pd.option_context("display.float_format", "{:.4f}".format, "display.width", 120, "display.max_rows", 80):
        return frame.to_string()


def q_table_report(outcome: Any) -> str:
    """The Q-table beside V*, the greedy policy, and the largest error against Q*."""
    policy = greedy_policy(outcome.result.q)
    return (f"\nLearned Q-table and the optimal values:\n{_table(q_table_frame(outcome))}\n"
            f"\nGreedy policy: {[action_names(outcome.env)[a] for a in policy]}\n"
            f"largest |Q - Q*|: {outcome.max_q_error:.4f}")


def policy_grid(policy: np.ndarray, desc: np.ndarray) -> str:
    """FrozenLake policy as arrows on the map; holes H and goal G shown as such."""
    rows = []
    for r in range(desc.shape[0]):
        cells = []
        for c in range(desc.shape[1]):
            cell = desc[r, c].decode() if isinstance(desc[r, c], bytes) else str(desc[r, c])
            cells.append(cell if cell in "HG" else ARROWS[int(policy[r * desc.shape[1] + c])])
        rows.append(" ".join(cells))
    return "\n".join(rows)


def frozenlake_report(outcome: Any) -> str:
    """The Q-table report, the policy on the map, and three success probabilities within the
    episode limit, exact from the ``P`` table: the best achievable (any policy), value
    iteration's greedy policy and the learned one; and both measured over ``eval_episodes``."""
    env, horizon, episodes = outcome.env, outcome.config.max_steps, outcome.options["eval_episodes"]
    policy, optimal = greedy_policy(outcome.result.q), greedy_policy(outcome.q_star)
    best = best_success_probability(env, horizon)
    learned, planned = (exact_success_probability(env, p, horizon) for p in (policy, optimal))
    learned_rate, optimal_rate = (success_rate(env, p, episodes, seed=EVALUATION_SEED, max_steps=horizon)
                                  for p in (policy, optimal))
    values = policy_evaluation(env.unwrapped.P, policy, env.unwrapped.observation_space.n, outcome.config.gamma)
    return (f"{q_table_report(outcome)}\n\nLearned policy:\n{policy_grid(policy, np.asarray(env.unwrapped.desc))}\n"
            f"\nSuccess within {horizon} steps, exact: best achievable {best:.3f}, value iteration's policy "
            f"(gamma {outcome.config.gamma}) {planned:.3f}, learned {learned:.3f} ({learned - best:+.3f} from the best)\n"
            f"Measured over {episodes} episodes (seeds {EVALUATION_SEED}..): learned {learned_rate:.3f}, "
            f"value iteration's {optimal_rate:.3f}\n"
            f"V of the learned policy at the start: {values[0]:.4f}; V*: {outcome.v_star[0]:.4f}")


def parse_cell(text: str, size: int) -> tuple[int, int]:
    """``"row,col"`` on a ``size`` x ``size`` grid."""
    try:
        r, c = (int(x) for x in text.split(","))
    except ValueError:
        raise UserError(f"--goal must be row,col, got {text!r}") from None
    if not (0 <= r < size and 0 <= c < size):
        raise UserError(f"--goal {text} is outside the {size}x{size} grid")
    return r, c


def gridworld_policy(env: GridWorld, policy: np.ndarray, goal: tuple[int, int]) -> str:
    """The greedy policy for ``goal`` as arrows on the grid (``env`` wrapped or not)."""
    env, rows = env.unwrapped, []
    for r in range(env.size):
        rows.append(" ".join("G" if (r, c) == goal else ARROWS[int(policy[env.encode((r, c), goal)])]
                             for c in range(env.size)))
    return "\n".join(rows)


def gridworld_path_excess(env: GridWorld, policy: np.ndarray) -> int:
    """Largest (steps taken - Manhattan distance) of the greedy policy over every start and goal
    pair; a large number if some pair never reaches the goal."""
    worst = 0
    base = env.unwrapped
    for s in range(base.observation_space.n):
        (ar, ac), (gr, gc) = base.decode(s)
        if (ar, ac) == (gr, gc):
            continue
        base.s = s
        steps, state, reached = 0, s, False
        for steps in range(1, 61):
            state, _, terminated, _, _ = base.step(int(policy[state]))
            if terminated:
                reached = True
                break
        worst = max(worst, steps - (abs(ar - gr) + abs(ac - gc)) if reached else 10**6)
    return worst


def gridworld_report(outcome: Any) -> str:
    """The Q-table and greedy policy for one goal (of the 600 start/goal states), and the
    policy's worst excess over the shortest path from every start to every goal."""
    env, policy = outcome.env.unwrapped, greedy_policy(outcome.result.q)
    goal = parse_cell(outcome.options["goal"], env.size)
    states = [env.encode(divmod(c, env.size), goal) for c in range(env.size ** 2) if divmod(c, env.size) != goal]
    return (f"\nQ-table for goal {goal} (of {env.size ** 4} states):\n{_table(q_table_frame(outcome, states))}\n"
            f"\nGreedy policy for goal {goal}:\n{gridworld_policy(env, policy, goal)}\n"
            f"\nWorst excess over the shortest path, all start/goal pairs: "
            f"{gridworld_path_excess(env, policy)} steps\nlargest |Q - Q*|: {outcome.max_q_error:.4f}")
