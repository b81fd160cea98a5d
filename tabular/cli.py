"""``python -m tabular <world>``: train Q-learning, print the table and policy, compare with
value iteration. Worlds: frozenlake, mars-rover, chain, gridworld; and demo (play the grid
world yourself)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from tabular.algorithms import greedy_policy, policy_evaluation, value_iteration
from tabular.errors import UserError
from tabular.qlearning import QLearningConfig, QLearningResult, q_learning, success_rate
from tabular.worlds import ARROWS, GRID_ACTIONS, ChainMaze, GridWorld, MarsRover

EXIT_BAD_INPUT = 2


@dataclass
class Outcome:
    """What a world's run produced (also what the tests and the notebook read)."""

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


# Q-learning settings per world. Q-learning is off-policy: the rovers and the chain are
# learned exactly with a uniformly random behaviour policy (constant epsilon 1).
DEFAULTS: dict[str, QLearningConfig] = {
    "chain": QLearningConfig(episodes=1000, alpha=0.1, gamma=0.9, decay=0.995, epsilon_end=0.01, max_steps=100),
    "mars-rover": QLearningConfig(episodes=3000, alpha=0.5, gamma=0.9, schedule="constant", max_steps=50),
    "mars-rover-course": QLearningConfig(episodes=3000, alpha=0.5, gamma=0.5, schedule="constant", max_steps=50),
    "frozenlake-4x4": QLearningConfig(episodes=2000, alpha=0.5, gamma=0.99, decay=0.995, max_steps=100),
    "frozenlake-4x4-slippery": QLearningConfig(episodes=5000, alpha=0.1, gamma=0.99, decay=0.999, max_steps=100),
    "frozenlake-8x8": QLearningConfig(episodes=5000, alpha=0.5, gamma=0.99, decay=0.999, max_steps=200),
    "frozenlake-8x8-slippery": QLearningConfig(episodes=25000, alpha=0.1, gamma=0.99, decay=0.9997,
                                               max_steps=200),
    "gridworld": QLearningConfig(episodes=50000, alpha=0.5, gamma=0.9, decay=0.9998, epsilon_end=0.05,
                                 max_steps=50),
}


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m tabular", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    worlds = parser.add_subparsers(dest="world", required=True, metavar="WORLD", parser_class=OneLineParser)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--episodes", type=int, help="training episodes (default: the world's)")
        p.add_argument("--alpha", type=float, help="learning rate")
        p.add_argument("--gamma", type=float, help="discount factor")
        p.add_argument("--epsilon-decay", type=float, dest="decay", help="per-episode epsilon decay factor")
        p.add_argument("--max-steps", type=int, help="step cap per episode")
        p.add_argument("--seed", type=int, default=0, help="seeds environment and agent")
        p.add_argument("--output-dir", type=Path, default=None, help="where GIFs and plots go")

    p = worlds.add_parser("frozenlake", help="Gymnasium's FrozenLake-v1")
    common(p)
    p.add_argument("--map", choices=["4x4", "8x8"], default="4x4", help="built-in map")
    p.add_argument("--custom-map", metavar="ROWS", help='your own map, rows of S/F/H/G: "SFFF,FHFH,FFFH,HFFG"')
    p.add_argument("--slippery", action=argparse.BooleanOptionalAction, default=True, help="slippery ice")
    p.add_argument("--eval-episodes", type=int, default=1000, help="episodes to measure success rates")
    p.add_argument("--no-gif", action="store_true", help="do not write training.gif and trained.gif")

    p = worlds.add_parser("mars-rover", help="the Mars Rover MDP (seed 001, or the course's 6-state variant)")
    common(p)
    p.add_argument("--variant", choices=["seed", "course"], default="seed",
                   help="seed: 7 states, rewards [0,1,0,0,0,10,0]; course: 6 states, 100 / 40 at the ends")
    p.add_argument("--misstep-prob", type=float, default=0.0, help="probability of moving the other way")
    p.add_argument("--slip", type=float, default=0.0, help="probability of the seed's random walk instead")

    p = worlds.add_parser("chain", help="the 6-state chain maze of seed 004")
    common(p)
    p.add_argument("--states", type=int, default=6, help="length of the chain")

    p = worlds.add_parser("gridworld", help="the 5x5 grid world of seed 002")
    common(p)
    p.add_argument("--goal", default="2,2", help="goal cell (row,col) for which the policy is printed")
    p.add_argument("--live-plot", action="store_true",
                   help="plot episode rewards live while training (saved as PNG when headless)")

    p = worlds.add_parser("demo", help="play the 5x5 grid world yourself with the arrow keys")
    p.add_argument("--seed", type=int, default=0)
    return parser


def _config(key: str, args: argparse.Namespace) -> QLearningConfig:
    overrides = {name: getattr(args, name) for name in ("episodes", "alpha", "gamma", "decay", "max_steps")
                 if getattr(args, name, None) is not None}
    try:
        return replace(DEFAULTS[key], seed=args.seed, **overrides)
    except ValueError as error:
        raise UserError(str(error)) from None


def run_world(world: str, args: argparse.Namespace, on_episode: Any = None) -> Outcome:
    """Build the world, learn it, and solve it exactly."""
    if world == "frozenlake":
        from tabular.frozenlake import make_frozenlake
        env = make_frozenlake(args.map, args.slippery, args.custom_map)
        size = "8x8" if env.unwrapped.observation_space.n > 16 else "4x4"
        key = f"frozenlake-{size}" + ("-slippery" if args.slippery else "")
        config = _config(key, args)
        if args.max_steps is None:
            config = replace(config, max_steps=env.spec.max_episode_steps or config.max_steps)
    elif world == "mars-rover":
        try:
            env = (MarsRover.course(misstep_prob=args.misstep_prob) if args.variant == "course"
                   else MarsRover(misstep_prob=args.misstep_prob, slip=args.slip))
        except ValueError as error:
            raise UserError(str(error)) from None
        config = _config("mars-rover-course" if args.variant == "course" else "mars-rover", args)
    elif world == "chain":
        if args.states < 2:
            raise UserError("--states must be at least 2")
        env = ChainMaze(args.states)
        config = _config("chain", args)
    elif world == "gridworld":
        env = GridWorld()
        config = _config("gridworld", args)
    else:
        raise UserError(f"unknown world {world!r}")
    base = env.unwrapped
    if not 0 <= config.gamma < 1:
        raise UserError(f"gamma must be in [0, 1) to compare with value iteration, got {config.gamma}")
    result = q_learning(env, config, on_episode=on_episode)
    v_star, q_star = value_iteration(base.P, base.observation_space.n, base.action_space.n, config.gamma)
    return Outcome(env, config, result, v_star, q_star)


def action_names(env: Any) -> list[str]:
    names = getattr(env.unwrapped, "action_names", None)
    return list(names) if names else list(GRID_ACTIONS)


def q_table_frame(outcome: Outcome, states: Sequence[int] | None = None) -> pd.DataFrame:
    """The learned Q-table with V* beside it, rows and columns labelled."""
    names = action_names(outcome.env)
    rows = range(outcome.result.q.shape[0]) if states is None else states
    frame = pd.DataFrame(outcome.result.q[list(rows)], columns=[f"Q({a})" for a in names],
                         index=[f"s{s}" for s in rows])
    frame["max Q"] = frame.max(axis=1)
    frame["V* (value iteration)"] = outcome.v_star[list(rows)]
    return frame


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


def gridworld_policy(env: GridWorld, policy: np.ndarray, goal: tuple[int, int]) -> str:
    rows = []
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
        (ar, ac), (gr, gc) = env.decode(s)
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


def _print(text: str = "") -> None:
    print(text, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _main(args)
    except UserError as error:
        print(f"python -m tabular: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _main(args: argparse.Namespace) -> int:
    if args.world == "demo":
        from tabular.live import play_in_terminal
        return play_in_terminal(seed=args.seed)
    out = args.output_dir or Path("runs") / args.world
    if args.world == "frozenlake":
        if args.eval_episodes <= 0:
            raise UserError("--eval-episodes must be positive")
        from tabular.frozenlake import make_frozenlake
        make_frozenlake(args.map, args.slippery, args.custom_map).close()  # validate before training

    live = None
    if getattr(args, "live_plot", False):
        from tabular.live import LiveRewardPlot
        live = LiveRewardPlot(out / "rewards.png")
    outcome = run_world(args.world, args, on_episode=None if live is None else live.add)
    if live is not None:
        path = live.close()
        if path is not None:
            _print(f"reward plot: {path}")

    env, config = outcome.env, outcome.config
    policy = greedy_policy(outcome.result.q)
    _print(f"{args.world}: Q-learning, {config.episodes} episodes, alpha {config.alpha}, gamma {config.gamma}, "
           f"seed {config.seed}")
    with pd.option_context("display.float_format", "{:.4f}".format, "display.width", 120,
                           "display.max_rows", 80):
        if args.world == "gridworld":
            goal = _parse_cell(args.goal, env.size)
            states = [env.encode(divmod(c, env.size), goal) for c in range(env.size ** 2)
                      if divmod(c, env.size) != goal]
            _print(f"\nQ-table for goal {goal} (of {env.size ** 4} states):")
            _print(q_table_frame(outcome, states).to_string())
            _print(f"\nGreedy policy for goal {goal}:")
            _print(gridworld_policy(env, policy, goal))
            _print(f"\nWorst excess over the shortest path, all start/goal pairs: "
                   f"{gridworld_path_excess(env, policy)} steps")
        else:
            _print("\nLearned Q-table and the optimal values:")
            _print(q_table_frame(outcome).to_string())
            _print(f"\nGreedy policy: {[action_names(env)[a] for a in policy]}")
        _print(f"largest |Q - Q*|: {outcome.max_q_error:.4f}")

    if args.world == "frozenlake":
        from tabular.frozenlake import exact_success_probability
        desc = np.asarray(env.unwrapped.desc)
        _print("\nLearned policy:")
        _print(policy_grid(policy, desc))
        optimal = greedy_policy(outcome.q_star)
        horizon = config.max_steps
        learned_rate = success_rate(env, policy, args.eval_episodes, seed=10_000, max_steps=horizon)
        optimal_rate = success_rate(env, optimal, args.eval_episodes, seed=10_000, max_steps=horizon)
        _print(f"\nSuccess rate over {args.eval_episodes} episodes (seeds 10000..): learned {learned_rate:.3f}, "
               f"optimal {optimal_rate:.3f} (exact: learned "
               f"{exact_success_probability(env, policy, horizon):.3f}, optimal "
               f"{exact_success_probability(env, optimal, horizon):.3f})")
        values = policy_evaluation(env.unwrapped.P, policy, env.unwrapped.observation_space.n, config.gamma)
        _print(f"V of the learned policy at the start: {values[0]:.4f}; V*: {outcome.v_star[0]:.4f}")
        if not args.no_gif:
            _write_gifs(args, outcome, policy, out)
    return 0


def _parse_cell(text: str, size: int) -> tuple[int, int]:
    try:
        r, c = (int(x) for x in text.split(","))
    except ValueError:
        raise UserError(f"--goal must be row,col, got {text!r}") from None
    if not (0 <= r < size and 0 <= c < size):
        raise UserError(f"--goal {text} is outside the {size}x{size} grid")
    return r, c


def _write_gifs(args: argparse.Namespace, outcome: Outcome, policy: np.ndarray, out: Path) -> None:
    from tabular.files import write_gif
    from tabular.frozenlake import make_frozenlake

    import os
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # off-screen frames need no window
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    env = make_frozenlake(args.map, args.slippery, args.custom_map, render_mode="rgb_array")
    rng = np.random.default_rng(args.seed)

    def frames(act: Any, seed: int) -> list[np.ndarray]:
        state, _ = env.reset(seed=seed)
        images = [env.render()]
        for _ in range(outcome.config.max_steps):
            state, _, terminated, truncated, _ = env.step(act(state))
            images.append(env.render())
            if terminated or truncated:
                break
        return images

    # The first training episode: epsilon 1, every action explores.
    training = write_gif(out / "training.gif", frames(lambda s: int(rng.integers(4)), args.seed))
    trained = write_gif(out / "trained.gif", frames(lambda s: int(policy[s]), args.seed))
    env.close()
    _print(f"GIFs: {out / 'training.gif'} ({training} frames), {out / 'trained.gif'} ({trained} frames)")


__all__ = ["main", "run_world", "Outcome", "DEFAULTS"]
