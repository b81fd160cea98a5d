"""``python -m tabular <world>``: train Q-learning, print the table and policy, compare with
value iteration. Worlds: frozenlake, frozenlake-unit2, mars-rover, chain, taxi, gridworld; and demo (play the grid
world yourself)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any, Sequence


from tabular.errors import UserError
from tabular.registry import SETTINGS, WORLDS, Outcome, check_options, train

EXIT_BAD_INPUT = 2
FROZENLAKE_HELP = """Q-learning on Gymnasium's FrozenLake-v1, scored by its exact success within the time limit
beside the best achievable (any policy) and value iteration's policy.

On slippery ice the step size of each (state, action) decays, alpha * 3000 / (3000 + n), with
gamma 0.985 and 10,000 (4x4) or 60,000 (8x8) episodes: with the lessons' constant alpha the
Q-values stay too noisy to rank actions that differ by 0.002, and on the 8x8 map the learned
policy then falls up to 0.17 short of the best on some seeds. Q starts at 1 (above any return),
so states tried mostly early are tried again. With these settings it is within 0.02 of the best
on every seed tested (0-9, 11-26, 100-119 and 3000-3049). --alpha-visits 0 restores the
lessons' constant step size."""
CLI_ONLY = ("world", "output_dir", "live_plot", "no_gif", "export")


class OneLineParser(argparse.ArgumentParser):
    """Bad input in one line, exit code 2: the twin of ``lunar.commands.commandline.OneLineParser`` (tabular stands alone)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def folder(text: str) -> Path:
    """A folder argument; an empty one is refused (``Path("")`` would be the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the folder must not be empty (use . for the current folder)")
    return Path(text)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m tabular", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    worlds = parser.add_subparsers(dest="world", required=True, metavar="WORLD", parser_class=OneLineParser)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--episodes", type=int, help="training episodes (default: the world's; at most 10,000,000)")
        p.add_argument("--alpha", type=float, help="learning rate")
        p.add_argument("--alpha-visits", type=float, metavar="K",
                       help="step size alpha * K / (K + n) on the n-th update of each (state, action); "
                            "0: constant alpha, the lessons' rule")
        p.add_argument("--gamma", type=float, help="discount factor")
        p.add_argument("--epsilon-decay", type=float, dest="decay", help="per-episode epsilon decay factor")
        p.add_argument("--max-steps", type=int, help="step cap per episode (at most 1,000,000)")
        p.add_argument("--seed", type=int, default=0, help="seeds environment and agent (0 to 2**31 - 1)")
        p.add_argument("--output-dir", type=folder, default=None, help="where GIFs and plots go")
        p.add_argument("--live-plot", action="store_true",
                       help="plot episode rewards live while training (saved as PNG when headless)")

    p = worlds.add_parser("frozenlake", help=WORLDS["frozenlake"].help, description=FROZENLAKE_HELP,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    common(p)
    p.add_argument("--map", choices=["4x4", "8x8"], default="4x4", help="built-in map")
    p.add_argument("--custom-map", metavar="ROWS", help='your own map, rows of S/F/H/G: "SFFF,FHFH,FFFH,HFFG"')
    p.add_argument("--slippery", action=argparse.BooleanOptionalAction, default=True, help="slippery ice")
    p.add_argument("--eval-episodes", type=int, default=1000, help="episodes to measure success rates")
    p.add_argument("--no-gif", action="store_true", help="do not write training.gif and trained.gif")

    p = worlds.add_parser("mars-rover", help=WORLDS["mars-rover"].help)
    common(p)
    p.add_argument("--variant", choices=["seed", "course"], default="seed",
                   help="seed: 7 states, rewards [0,1,0,0,0,10,0]; course: 6 states, 100 / 40 at the ends")
    p.add_argument("--misstep-prob", type=float, default=0.0, help="probability of moving the other way")
    p.add_argument("--slip", type=float, default=0.0, help="probability of the seed's random walk instead")

    p = worlds.add_parser("chain", help=WORLDS["chain"].help)
    common(p)
    p.add_argument("--states", type=int, default=6, help="length of the chain (2 to 10,000)")

    for world in ("taxi", "frozenlake-unit2"):
        p = worlds.add_parser(world, help=WORLDS[world].help)
        common(p)
        p.add_argument("--export", type=folder, metavar="DIR", default=None,
                       help="write the Q-table (JSON, no pickle), results.json and a model card for the Hub to DIR")

    p = worlds.add_parser("gridworld", help=WORLDS["gridworld"].help)
    common(p)
    p.add_argument("--goal", default="2,2", help="goal cell (row,col) for which the policy is printed")

    p = worlds.add_parser("demo", help="play the 5x5 grid world yourself with the arrow keys")
    p.add_argument("--seed", type=int, default=0)
    return parser


def export_unit2(outcome: Outcome, folder: Path) -> list[Path]:
    """``taxi --export DIR``, ``frozenlake-unit2 --export DIR``: the Q-table, its Unit 2 score and the exact
    comparison with value iteration (:mod:`tabular.export`)."""
    from tabular.algorithms import greedy_policy
    from tabular.export import export
    from tabular.frozenlake import exact_success_probability
    from tabular.unit2 import FROZENLAKE_SEEDS, MAX_STEPS, UNIT2_SEEDS, start_returns, unit2_score

    policy, optimal = greedy_policy(outcome.result.q), greedy_policy(outcome.q_star)
    if outcome.world == "taxi":
        seeds = UNIT2_SEEDS
        exact = {"learned_expected_return": float(start_returns(outcome.env, policy).mean()),
                 "optimal_expected_return": float(start_returns(outcome.env, optimal).mean())}
    else:
        seeds = FROZENLAKE_SEEDS
        exact = {"learned_expected_return": exact_success_probability(outcome.env, policy, MAX_STEPS),
                 "optimal_expected_return": exact_success_probability(outcome.env, optimal, MAX_STEPS)}
    return export(outcome, folder, unit2_score(outcome.env, policy, seeds), seeds, MAX_STEPS, exact)


def check_arguments(args: argparse.Namespace, out: Path) -> None:
    """UserError for options out of range and an output folder that cannot be written."""
    check_options(args.world, options_of(args))
    if str(out).strip() == "":
        raise UserError("the output folder must not be empty (use . for the current folder)")
    if "\0" in str(out):
        raise UserError("the output folder's name holds a NUL byte")
    try:  # a file made and removed at once in the nearest existing folder: /proc passes os.access, takes no files
        probe = out
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if not probe.is_dir():
            raise UserError(f"output folder {out} is not writable: {probe} is a file")
        tempfile.TemporaryFile(dir=probe).close()
    except (OSError, ValueError) as error:  # ValueError: a name the OS cannot represent
        raise UserError(f"output folder {out} is not writable: {getattr(error, 'strerror', None) or error}") from None


def options_of(args: argparse.Namespace) -> dict[str, Any]:
    """The keywords of :func:`tabular.train`: the world's options and the settings given."""
    return {k: v for k, v in vars(args).items() if k not in CLI_ONLY and (v is not None or k not in SETTINGS)}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _main(args)
    except UserError as error:
        print(f"python -m tabular: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as error:  # a write failed at run time: a full disk, a folder that is not one
        print(f"python -m tabular: error: could not write {error.filename or 'an output file'}: "
              f"{error.strerror or error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("python -m tabular: stopped by Ctrl-C", file=sys.stderr)
        return 130


def _main(args: argparse.Namespace) -> int:
    if args.world == "demo":
        from tabular.live import play_in_terminal
        return play_in_terminal(seed=args.seed)
    out = args.output_dir or Path("runs") / args.world
    check_arguments(args, out)  # before training: a refused command writes nothing
    if getattr(args, "export", None) is not None:
        check_arguments(args, args.export)
    live = None
    if args.live_plot:
        from tabular.live import LiveRewardPlot
        live = LiveRewardPlot(out / "rewards.png")
    gifs = args.world == "frozenlake" and not args.no_gif
    outcome = train(args.world, on_episode=None if live is None else live.add, snapshots=10 if gifs else 0,
                    **options_of(args))
    config = outcome.config
    print(f"{args.world}: Q-learning, {config.episodes} episodes, alpha {config.alpha}, gamma {config.gamma}, "
          f"seed {config.seed}", flush=True)
    print(WORLDS[args.world].report(outcome), flush=True)
    if live is not None:
        print(f"reward plot: {live.close()}", flush=True)
    if getattr(args, "export", None) is not None:
        print(f"exported: {', '.join(str(p) for p in export_unit2(outcome, args.export))}")
    if gifs:
        from tabular.animation import write_frozenlake_gifs
        training, trained = write_frozenlake_gifs(outcome, out)
        print(f"GIFs: {out / 'training.gif'} ({training} frames: the first episode and one every tenth of the "
              f"run), {out / 'trained.gif'} ({trained} frames)")
    return 0

