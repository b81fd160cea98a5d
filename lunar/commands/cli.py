"""Command-line front ends: ``python train.py`` (``lunar-train``) and ``python evaluate.py``
(``lunar-evaluate``). They parse arguments and call the package; bad input is one line
on stderr and exit code 2."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable, Sequence

from lunar.commands.commandline import (EXIT_INTERRUPTED, HelpFormatter, OneLineParser, bounded_int, folder_argument,
                               parse_bool, run_command)
from lunar.config import INTEGER_LIMITS, DQNConfig, field_docs, load_toml
from lunar.errors import UserError

FLAG_NAMES = {"env_id": "env", "num_episodes": "episodes"}
"""Fields with a shorter flag (``--env``, ``--episodes``); every other field is ``--field-name``."""


def train_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="train.py",
        description="Train a Deep Q-Network (the course's Lunar Lander lab) until the 100-episode "
                    "average reaches the target score. Writes the model, history CSV, learning curve "
                    "and checkpoints to --output-dir.",
        formatter_class=HelpFormatter)
    parser.add_argument("--config", metavar="FILE", type=Path,
                        help="TOML file of hyperparameters (e.g. configs/fast.toml); flags override it")
    parser.add_argument("--output-dir", type=folder_argument, default=None,
                        help="where outputs go; one run at a time per folder (default: models, or "
                             "runs/NOTEBOOK for a --notebook)")
    parser.add_argument("--resume", nargs="?", const=True, default=None, metavar="DIR",
                        help="continue from the newest valid checkpoint of the run in DIR "
                             "(default: --output-dir)")
    parser.add_argument("--force", action="store_true",
                        help="resume even if the hyperparameters differ from the checkpoint's; train a "
                             "--notebook whose graded tests fail")
    parser.add_argument("--notebook", type=Path, metavar="FILE", default=None,
                        help="train a lab notebook's own compute_loss, networks and optimizer (its definitions "
                             "run, as lunar-grade runs them) in this loop, after their graded tests")
    parser.add_argument("--agent-learn", action="store_true",
                        help="with --notebook: call the notebook's own agent_learn once per mini-batch, as the "
                             "course does, instead of the kit's compiled update (slower)")
    parser.add_argument("--checkpoint-every", type=bounded_int(1, 10_000_000, "a whole number of episodes"),
                        default=None, metavar="N",
                        help="write a checkpoint every N episodes (and on Ctrl-C / SIGTERM); default 50, "
                             "or the resumed run's")
    parser.add_argument("--quiet", action="store_true", help="print only the final summary")
    parser.add_argument("--tensorboard", type=Path, metavar="DIR", default=None,
                        help="write TensorBoard scalars (return, average, epsilon, loss, mean Q) to DIR")
    docs = field_docs()
    group = parser.add_argument_group("hyperparameters (defaults: the course's)")
    for f in fields(DQNConfig):
        flag = "--" + FLAG_NAMES.get(f.name, f.name).replace("_", "-")
        kind = {"bool": parse_bool, "int": int, "float": float, "str": str}[f.type if isinstance(f.type, str)
                                                                        else f.type.__name__]
        metavar = {parse_bool: "BOOL", int: "N", float: "X", str: "TEXT"}[kind]
        limit = f" At most {INTEGER_LIMITS[f.name]:,}." if f.name in INTEGER_LIMITS else ""
        group.add_argument(flag, dest=f.name, type=kind, default=None, metavar=metavar,
                           help=f"{docs.get(f.name, '')}{limit} (default: {f.default!r})")
    return parser


def explicit_values(args: argparse.Namespace) -> dict[str, Any]:
    """The hyperparameters the command gives: the ``--config`` file's, then the flags'."""
    values: dict[str, Any] = load_toml(args.config) if args.config is not None else {}
    for f in fields(DQNConfig):
        value = getattr(args, f.name)
        if value is not None:
            values[f.name] = value
    return values


def resolve_config(args: argparse.Namespace) -> DQNConfig:
    """Defaults <- ``--config`` file <- explicit flags."""
    try:
        return DQNConfig(**explicit_values(args))
    except TypeError as error:
        raise UserError(f"bad configuration: {error}") from None


def train_main(argv: Sequence[str] | None = None, lab_code_from: Callable[..., Any] | None = None) -> int:
    """``python train.py``: parse, train, summarise. ``lab_code_from(path, force, message, seed, agent_learn)`` loads a
    ``--notebook`` (:func:`grading.lab.lab_code_from`, passed in: ``lunar`` stands alone)."""
    return run_command(train_parser(), lambda args: _train(args, lab_code_from), argv)


def _train(args: argparse.Namespace, lab_code_from: Callable[..., Any] | None = None) -> int:
    from lunar.errors import warn
    from lunar.reports.console import ConsoleReporter
    from lunar.training import NumericalError, train

    lab = None
    if args.agent_learn and args.notebook is None:
        raise UserError("--agent-learn needs --notebook: it trains the notebook's own agent_learn")
    if args.notebook is not None:
        if lab_code_from is None:
            raise UserError("--notebook needs lunar-kit's grading package: run python train.py or lunar-train")
        lab = lab_code_from(args.notebook, args.force, warn, resolve_config(args).seed, args.agent_learn)
    default = Path("models") if args.notebook is None else Path("runs") / args.notebook.stem  # never the kit's model
    output_dir = (args.output_dir or default) if args.resume in (None, True) else Path(args.resume)
    reporter = ConsoleReporter(quiet=args.quiet, header=lambda config: f"{config.env_id}: seed {config.seed}, "
                                                                       f"TensorFlow on {_device_name()}")
    # A resumed run keeps the checkpoint's hyperparameters and interval but for those the command gives.
    config, given = (None, explicit_values(args)) if args.resume is not None else (resolve_config(args), {})
    try:
        result = train(config, output_dir, resume=args.resume is not None, force=args.force,
                       checkpoint_every=args.checkpoint_every, reporter=reporter, tensorboard=args.tensorboard,
                       lab_code=lab, **given)
    except NumericalError as error:
        print(f"train.py: numerical fault: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"train.py: stopped at once by a second interrupt; the last periodic checkpoint in "
              f"{output_dir / 'checkpoints'} is intact. Resume with: python train.py --resume {output_dir}",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    _print_summary(result, quiet=args.quiet)
    if result.status == "interrupted":
        print(f"Interrupted; checkpoint saved. Resume with: python train.py --resume {output_dir}",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _print_summary(result: Any, quiet: bool) -> None:
    """The end of a run: a table (solved or not, episodes, steps, wall time, files)."""
    config = result.config
    from lunar.reports.reference import summary_line
    from lunar.reports.symptoms import diagnose

    rate = result.total_steps / max(result.wall_seconds, 1e-9)
    if result.status == "solved":
        print(f"\nEnvironment solved in {result.episodes} episodes!")
    for symptom in diagnose(result.history, config):
        print(f"symptom: {symptom.line()}")
    if quiet:
        print(f"{result.status}: {result.episodes} episodes, {result.total_steps} steps, "
              f"{result.wall_seconds:.1f} s")
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"DQN on {config.env_id}, seed {config.seed}", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    average = result.history["moving_average"].iloc[-1] if len(result.history) else float("nan")
    for key, value in [("status", result.status), ("episodes", f"{result.episodes:,}"),
                       ("environment steps", f"{result.total_steps:,}"),
                       (f"last {config.num_p_av}-episode average", f"{average:.2f}"),
                       ("wall time", f"{result.wall_seconds:.1f} s ({rate:,.0f} steps/s)")]:
        table.add_row(key, value)
    for name, path in result.paths.items():
        table.add_row(name, escape(str(path)))  # a folder named "[x]" is text, not markup
    Console(highlight=False).print(table)
    print(summary_line(result.history, config))


def _device_name() -> str:
    import tensorflow as tf
    gpus = tf.config.list_physical_devices("GPU")
    return ", ".join(g.name for g in gpus) + " (GPU)" if gpus else "CPU"


def evaluate_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="evaluate.py",
        description="Score a trained Q-network greedily on fixed environment seeds (episode i uses "
                    "reset(seed=SEED+i)) and render the first episodes to a video.",
        formatter_class=HelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("models/lunar_lander_model.h5"),
                        help="Keras model file (.h5 or .keras)")
    parser.add_argument("--env", default="LunarLander-v3", help="Gymnasium id (Box observations, Discrete actions)")
    parser.add_argument("--episodes", type=int, default=None, help="episodes to score (default 5, at most 1,000,000)")
    parser.add_argument("--seed", type=int, default=0, help="environment seed of the first episode (0 to 2**31 - 1 - episodes)")
    parser.add_argument("--video", type=Path, default=Path("videos/lunar_lander.mp4"),
                        help="video file (.mp4 or .gif) of the first --video-episodes episodes")
    parser.add_argument("--video-episodes", type=int, default=3, help="episodes recorded back to back")
    parser.add_argument("--fps", type=int, default=30, help="video frames per second")
    parser.add_argument("--no-video", action="store_true", help="score only, render nothing")
    parser.add_argument("--gif", type=Path, default=None, metavar="PATH",
                        help="instead of the video: a small GIF of the first episode for a README (half size, "
                             "every third frame, 10 frames a second)")
    parser.add_argument("--csv", type=Path, default=None, metavar="PATH", help="write per-episode rows here")
    parser.add_argument("--package", type=Path, default=None, metavar="DIR",
                        help="write a model folder to share on the Hugging Face Hub instead: the model (.h5 and "
                             ".keras), results.json, replay.mp4, a model card, the run's config and curve; scored "
                             "with the official protocol (100 episodes from seed 0)")
    parser.add_argument("--push", default=None, metavar="REPO_ID",
                        help="with --package: upload the folder to the Hub model repository USER/NAME (needs the "
                             "hub extra and a token, HF_TOKEN or `hf auth login`)")
    return parser


def evaluate_main(argv: Sequence[str] | None = None) -> int:
    """``python evaluate.py``: load, score, render."""
    return run_command(evaluate_parser(), _evaluate, argv)


def _evaluate(args: argparse.Namespace) -> int:
    from lunar.run.atomic import check_file_target, write_text
    from lunar.envs import make_env
    from lunar.reports.evaluation import check_model_fits, check_protocol, evaluate_policy, load_q_network
    from lunar.commands.video import check_video_path, check_video_writer

    if args.package is not None or args.push is not None:
        return _package(args)
    args.episodes = 5 if args.episodes is None else args.episodes
    check_protocol(args.episodes, args.seed)
    if args.fps <= 0:
        raise UserError(f"--fps must be positive, got {args.fps}")
    if args.video_episodes <= 0:
        raise UserError(f"--video-episodes must be positive, got {args.video_episodes}")
    if args.gif is not None and args.gif.suffix.lower() != ".gif":
        raise UserError(f"--gif must name a .gif file, got {args.gif.name!r}")
    video = None if args.no_video else args.gif or check_video_path(args.video)
    for target in (video, args.csv):  # checked before the scoring and rendering, not after
        if target is not None:
            check_file_target(target)
    if video is not None:
        check_video_writer(video.suffix.lower(), ", or pass --no-video")
    model = load_q_network(args.model)
    env = make_env(args.env)
    check_model_fits(model, env, args.env)

    score = evaluate_policy(model, env, episodes=args.episodes, seed=args.seed)
    env.close()
    _print_score(score, args)
    if args.csv is not None:
        write_text(args.csv, score.episodes.to_csv(index=False))
        print(f"per-episode rows: {args.csv}")
    if video is not None:
        _write_video(model, video, args)
    return 0


def _write_video(model: Any, video: Path, args: argparse.Namespace) -> None:
    """The first ``--video-episodes`` greedy episodes, captioned; with ``--gif``, the first one, small."""
    from lunar.envs import make_env
    from lunar.reports.evaluation import greedy_policy
    from lunar.commands.video import episode_frames, thumbnail_frames, write_frames

    small = args.gif is not None
    render_env = make_env(args.env, render_mode="rgb_array")
    policy = greedy_policy(model)
    count = 1 if small else min(args.video_episodes, args.episodes)

    def frames():
        for i in range(count):
            yield from episode_frames(
                render_env, policy, seed=args.seed + i, caption=None if small else
                lambda step, total, i=i: f"episode {i + 1} (seed {args.seed + i})  step {step}  return {total:7.1f}")

    n = write_frames(video, thumbnail_frames(frames(), every=3) if small else frames(), fps=10 if small else args.fps)
    render_env.close()
    print(f"{'GIF' if small else 'video'}: {video} ({count} episode{'s' * (count > 1)}, {n} frames)")


def _package(args: argparse.Namespace) -> int:
    """``--package DIR [--push REPO_ID]``: the official score, the shareable folder, the upload."""
    from lunar.commands.package import check_repo_id, package, push

    if args.package is None:
        raise UserError("--push needs --package DIR: the folder it uploads")
    if args.episodes not in (None, 100) or args.seed != 0:
        raise UserError("--package scores with the official protocol (100 episodes from seed 0): "
                        "leave out --episodes and --seed")
    repo_id = None if args.push is None else check_repo_id(args.push)
    results = package(args.model, args.package, args.env)
    print(f"{results['n_eval_episodes']} episodes: mean {results['mean_reward']:.1f}, std "
          f"{results['std_reward']:.1f}; {hub_line(results['mean_reward'], results['std_reward'], args.env)}")
    if repo_id is not None:
        print(f"pushed: {push(args.package, repo_id)}")
    return 0


def hub_line(mean: float, std: float, env_id: str) -> str:
    """The Hugging Face leaderboard's score (mean - std), and its pass mark where the kit knows it."""
    from lunar.commands.package import HUB_MARK, hub_score

    score = hub_score(mean, std)
    if not env_id.startswith("LunarLander"):
        return f"mean - std (the Hugging Face leaderboard's score) {score:.1f}"
    verdict = "passes" if score >= HUB_MARK else "is below"
    return f"mean - std (the Hugging Face leaderboard's score) {score:.1f} {verdict} its LunarLander mark {HUB_MARK:g}"


def _print_score(score: Any, args: argparse.Namespace) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    frame = score.episodes
    if len(frame) <= 20:
        table = Table(title=f"{args.model} on {args.env}")
        for column in ("episode", "seed", "return", "steps", "outcome"):
            table.add_column(column, justify="left" if column == "outcome" else "right")
        for row in frame.to_dict("records"):  # "return" is a keyword: no attribute access
            table.add_row(str(row["episode"]), str(row["seed"]), f"{row['return']:.1f}", str(row["steps"]),
                          row["outcome"])
        console.print(table)
    s = score.summary()
    outcomes = ", ".join(f"{k} {v}" for k, v in frame["outcome"].value_counts().items())
    console.print(f"{s['episodes']} episodes (seeds {args.seed}..{args.seed + s['episodes'] - 1}): "
                  f"mean {s['mean']:.1f}, std {s['std']:.1f}, min {s['min']:.1f}, median {s['median']:.1f}, "
                  f"at or above 200: {100 * s['share_at_or_above']:.0f}%  [{outcomes}]", soft_wrap=True,
                  markup=False)  # the brackets are text, not rich markup
    print(hub_line(s["mean"], s["std"], args.env))
