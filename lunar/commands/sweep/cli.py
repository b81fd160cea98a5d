"""``lunar-sweep`` and ``lunar-tune``: the command lines over :mod:`lunar.commands.sweep`.

Everything given is checked (presets, seeds, overrides, Ray installed, the cluster answering,
the output folder) before anything is written; bad input is one line and exit code 2.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Sequence

from lunar.commands.commandline import HelpFormatter, OneLineParser, run_command
from lunar.errors import UserError

ADDRESS_HELP = ("a Ray cluster to run on: HOST:PORT of its head, or auto for the one this machine belongs "
                "to (default: RAY_ADDRESS if set, else a new local Ray instance)")


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    return OneLineParser(prog=prog, formatter_class=HelpFormatter, description=description)


def _cluster_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--address", default=None, help=ADDRESS_HELP)
    parser.add_argument("--cpus", type=int, default=None,
                        help="CPUs of a new local Ray instance (default: all of this machine's)")
    return parser


def sweep_parser() -> argparse.ArgumentParser:
    parser = _parser("lunar-sweep", "Train every combination of presets, overrides and seeds on Ray Tune, one CPU "
                     "per run, and summarise across seeds: per-run CSV, aggregate table (IQM and bootstrap 95%% "
                     "interval of the official greedy score), learning curves. Stopped and started again with the "
                     "same arguments, it runs only what is not finished.")
    parser.add_argument("--config", nargs="+", type=Path, required=True, metavar="FILE",
                        help="preset TOML file(s), e.g. configs/fast.toml")
    parser.add_argument("--seeds", default="0-4", help="seeds, e.g. 0-9 or 0,3,5-7")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=V1[,V2...]",
                        help="a hyperparameter's values to sweep (repeatable), e.g. --set gamma=0.99,0.995")
    parser.add_argument("--episodes", type=int, default=None, help="cap every run at this many episodes")
    parser.add_argument("--output-dir", type=Path, default=None,
                        help="where the sweep writes (default: sweeps/<preset names>)")
    parser.add_argument("--eval-episodes", type=int, default=100,
                        help="greedy episodes (seeds 0..N-1, the official protocol) to score each solved run")
    parser.add_argument("--checkpoint-every", type=int, default=50, metavar="N",
                        help="each run's checkpoint interval in episodes (a stopped sweep resumes runs from them)")
    return _cluster_arguments(parser)


def check_numbers(args: argparse.Namespace, limits: tuple[tuple[str, int, int], ...]) -> None:
    """A UserError naming the first option outside its ``(name, low, high)`` limits."""
    for name, low, high in limits:
        value = getattr(args, name, None)
        if value is not None and not low <= value <= high:
            raise UserError(f"--{name.replace('_', '-')} must be between {low:,} and {high:,}, got {value}")


def _sweep(args: argparse.Namespace) -> int:
    from lunar.run import lock
    from lunar.run.atomic import check_writable
    from lunar.commands.sweep import engine
    from lunar.commands.sweep.plan import make_plan, parse_override, parse_seeds
    from lunar.commands.sweep.runner import Sweep, run_sweep

    check_numbers(args, (("episodes", 1, 10_000_000), ("eval_episodes", 0, 1_000_000),
                         ("checkpoint_every", 1, 10_000_000), ("cpus", 1, 4096)))
    fixed = {"num_episodes": args.episodes} if args.episodes else {}
    trials = make_plan(args.config, parse_seeds(args.seeds), [parse_override(o) for o in args.overrides], fixed)
    folder = args.output_dir or Path("sweeps") / "-".join(p.stem for p in args.config)
    check_writable(folder)
    sweep = Sweep(folder, trials, args.eval_episodes)
    sweep.check()
    engine.import_ray()
    if args.address:
        engine.check_address(args.address)
    if sweep.pending():
        engine.connect(args.address, args.cpus or os.cpu_count())
    sweep.claim()
    try:
        code = run_sweep(sweep, args.checkpoint_every, echo=lambda line: print(line, flush=True))
    finally:
        lock.release(folder)
    print(f"wrote {folder / 'runs.csv'}, {folder / 'summary.md'}, {folder / 'curves.png'}")
    print((folder / "summary.md").read_text(), end="")
    return code


def sweep_main(argv: Sequence[str] | None = None) -> int:
    """``lunar-sweep``."""
    return run_command(sweep_parser(), _sweep, argv, tensorflow=False)


def tune_parser() -> argparse.ArgumentParser:
    parser = _parser("lunar-tune", "Search hyperparameters on Ray Tune for the shortest wait: Optuna's TPE "
                     "proposes, each trial trains under its preset's own stopping rule and is scored by the CPU "
                     "seconds it took to solve (twice max_seconds if it was cut off). Writes the fastest "
                     "configuration as a ready preset (best.toml) and a table of all trials.")
    parser.add_argument("space", type=Path, help="search-space TOML file, e.g. configs/tune_fast.toml")
    parser.add_argument("--trials", type=int, default=8, help="how many configurations to try")
    parser.add_argument("--seed", type=int, default=0, help="seed of Optuna's sampler")
    parser.add_argument("--output-dir", type=Path, default=None, help="default: tunes/<space name>")
    return _cluster_arguments(parser)


def tune_main(argv: Sequence[str] | None = None) -> int:
    """``lunar-tune``."""
    return run_command(tune_parser(), _tune, argv, tensorflow=False)


def _tune(args: argparse.Namespace) -> int:
    from lunar.commands.sweep.tuning import tune_command

    check_numbers(args, (("trials", 1, 10_000), ("seed", 0, 2**32 - 1), ("cpus", 1, 4096)))
    return tune_command(args.space, args.trials, args.seed, args.output_dir, args.address, args.cpus)
