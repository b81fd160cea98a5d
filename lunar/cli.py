"""Command-line front ends: ``python train.py`` (``lunar-train``) and ``python evaluate.py``
(``lunar-evaluate``). They parse arguments and call the package; bad input is one line
on stderr and exit code 2."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from lunar.config import INTEGER_LIMITS, DQNConfig, field_docs, load_toml
from lunar.errors import UserError

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

FLAG_NAMES = {"env_id": "env", "num_episodes": "episodes"}
"""Fields with a shorter flag (``--env``, ``--episodes``); every other field is ``--field-name``."""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a default only where it says something (not None or False) and once."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "(default" in text or any(action.default is quiet for quiet in (None, False, argparse.SUPPRESS)):
            return text
        return super()._get_help_string(action) or text


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports bad input on one line (no usage dump) with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def bounded_int(low: int, high: int, what: str) -> Callable[[str], int]:
    """An argparse type: a whole number in ASCII digits from ``low`` to ``high``, else one line naming ``what``."""
    def parse(text: str) -> int:
        if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what} between {low:,} and {high:,}")
        return int(text)
    return parse


def _folder(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("the output folder must not be empty (use . for the current folder)")
    return Path(text)


def train_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="train.py",
        description="Train a Deep Q-Network (the course's Lunar Lander lab) until the 100-episode "
                    "average reaches the target score. Writes the model, history CSV, learning curve "
                    "and checkpoints to --output-dir.",
        formatter_class=HelpFormatter)
    parser.add_argument("--config", metavar="FILE", type=Path,
                        help="TOML file of hyperparameters (e.g. configs/fast.toml); flags override it")
    parser.add_argument("--output-dir", type=_folder, default=None,
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
        kind = {"bool": _bool, "int": int, "float": float, "str": str}[f.type if isinstance(f.type, str)
                                                                        else f.type.__name__]
        metavar = {_bool: "BOOL", int: "N", float: "X", str: "TEXT"}[kind]
        limit = f" At most {INTEGER_LIMITS[f.name]:,}." if f.name in INTEGER_LIMITS else ""
        group.add_argument(flag, dest=f.name, type=kind, default=None, metavar=metavar,
                           help=f"{docs.get(f.name, '')}{limit} (default: {f.default!r})")
    return parser


def resolve_config(args: argparse.Namespace, base: dict[str, Any] | None = None) -> DQNConfig:
    """Defaults <- ``base`` (a checkpoint's) <- ``--config`` file <- explicit flags."""
    values: dict[str, Any] = dict(base or {})
    if args.config is not None:
        values.update(load_toml(args.config))
    for f in fields(DQNConfig):
        value = getattr(args, f.name)
        if value is not None:
            values[f.name] = value
    try:
        return DQNConfig(**values)
    except TypeError as error:
        raise UserError(f"bad configuration: {error}") from None


def run_command(parser: argparse.ArgumentParser, command: Any, argv: Sequence[str] | None, *,
                tensorflow: bool = True) -> int:
    """Parse, import TensorFlow without its start-up log (if ``tensorflow``), run ``command(args)``:
    the one place where a command's errors become one line on stderr.

    A UserError, or an OSError no check foresaw (a disk that filled up, a file that vanished),
    is exit code 2. Ctrl-C or SIGTERM before the run's own handler is in place (start-up), or
    a second one, is exit code 130.
    """
    from lunar.tfsetup import import_tensorflow_quietly

    args = parser.parse_args(argv)
    with _sigterm_unwinds():
        try:
            if tensorflow:
                import_tensorflow_quietly()
            return command(args)
        except UserError as error:
            print(f"{parser.prog}: error: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except OSError as error:
            print(f"{parser.prog}: error: could not use {error.filename or 'a file'}: {error.strerror or error}",
                  file=sys.stderr)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:
            print(f"{parser.prog}: stopped by Ctrl-C or SIGTERM", file=sys.stderr)
            return EXIT_INTERRUPTED


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt, as Ctrl-C does, so both end a command the same way."""
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: signals stay as they are
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def train_main(argv: Sequence[str] | None = None, lab_code_from: Callable[..., Any] | None = None) -> int:
    """``python train.py``: parse, train, summarise. ``lab_code_from(path, force, message, seed, agent_learn)`` loads a
    ``--notebook`` (:func:`grading.lab.lab_code_from`, passed in: ``lunar`` stands alone)."""
    return run_command(train_parser(), lambda args: _train(args, lab_code_from), argv)


def _train(args: argparse.Namespace, lab_code_from: Callable[..., Any] | None = None) -> int:
    from lunar import lock
    from lunar.reporting import ConsoleReporter

    reporter = ConsoleReporter(quiet=args.quiet)
    lab = None
    if args.agent_learn and args.notebook is None:
        raise UserError("--agent-learn needs --notebook: it trains the notebook's own agent_learn")
    if args.notebook is not None:
        if lab_code_from is None:
            raise UserError("--notebook needs lunar-kit's grading package: run python train.py or lunar-train")
        from lunar.training import warn
        lab = lab_code_from(args.notebook, args.force, warn, resolve_config(args).seed, args.agent_learn)
    default = Path("models") if args.notebook is None else Path("runs") / args.notebook.stem  # never the kit's model
    output_dir = (args.output_dir or default) if args.resume in (None, True) else Path(args.resume)
    if args.tensorboard is not None:
        from lunar.tensorboard import check_folder
        check_folder(args.tensorboard)
    if args.resume is None:
        return _train_from(args, output_dir, None, reporter, lab)
    if not (output_dir / "checkpoints").is_dir():
        raise UserError(f"no valid checkpoint to resume in {output_dir}: it has no checkpoints folder")
    lock.acquire(output_dir)  # before reading: a run still writing there is refused first
    try:
        return _train_from(args, output_dir, _checkpoint_to_resume(output_dir), reporter, lab)
    finally:
        lock.release(output_dir)


def _checkpoint_to_resume(output_dir: Path) -> Any:
    """The newest valid checkpoint, read and verified once; UserError saying why when there is none."""
    from lunar import checkpoint as ckpt
    from lunar.training import warn as print_warning

    reasons: list[str] = []

    def warn(message: str) -> None:
        reasons.append(message)
        print_warning(message)

    checkpoint = ckpt.latest_valid(output_dir / "checkpoints", warn=warn)
    if checkpoint is None:
        why = f": every one is damaged, the newest because {reasons[0].split(': ', 1)[-1]}" if reasons else ""
        raise UserError(f"no valid checkpoint to resume in {output_dir / 'checkpoints'}{why}")
    return checkpoint


def _train_from(args: argparse.Namespace, output_dir: Path, checkpoint: Any, reporter: Any, lab: Any = None) -> int:
    from lunar.outputs import output_paths
    from lunar.training import NumericalError, train

    # A resumed run keeps its own hyperparameters and checkpoint interval unless told otherwise.
    config = resolve_config(args, checkpoint.manifest["config"] if checkpoint else None)
    every = args.checkpoint_every or (checkpoint.manifest.get("checkpoint_every") if checkpoint else None) or 50
    # args.checkpoint_every is never 0: its argparse type refuses it
    if not args.quiet:
        print(f"{config.env_id}: seed {config.seed}, TensorFlow on {_device_name()}", flush=True)
    try:
        parts = {} if lab is None else {name: getattr(lab, name) for name in lab.given()}
        result = train(config, output_dir, resume=checkpoint or False, force=args.force,
                       checkpoint_every=every, reporter=reporter, tensorboard=args.tensorboard, **parts)
    except NumericalError as error:
        print(f"train.py: numerical fault: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("train.py: stopped at once by a second interrupt; the last periodic checkpoint in "
              f"{output_paths(output_dir, config.env_id)['checkpoints']} is intact. Resume with: "
              f"python train.py --resume {output_dir}", file=sys.stderr)
        return EXIT_INTERRUPTED
    _print_summary(result, config, quiet=args.quiet)
    if result.status == "interrupted":
        print(f"Interrupted; checkpoint saved. Resume with: python train.py --resume {output_dir}",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _print_summary(result: Any, config: DQNConfig, quiet: bool) -> None:
    """The end of a run: a table (solved or not, episodes, steps, wall time, files)."""
    from lunar.reference import summary_line
    from lunar.symptoms import diagnose

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
    from lunar.atomic import check_file_target, write_text
    from lunar.envs import make_env
    from lunar.evaluation import check_model_fits, check_protocol, evaluate_policy, load_q_network
    from lunar.video import check_video_path, check_video_writer

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
    from lunar.networks import greedy_policy
    from lunar.video import episode_frames, thumbnail_frames, write_frames

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
    from lunar.package import check_repo_id, package, push

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
    from lunar.package import HUB_MARK, hub_score

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
        for row in frame.itertuples(index=False):
            table.add_row(str(row.episode), str(row.seed), f"{row._2:.1f}", str(row.steps), row.outcome)
        console.print(table)
    s = score.summary()
    outcomes = ", ".join(f"{k} {v}" for k, v in frame["outcome"].value_counts().items())
    console.print(f"{s['episodes']} episodes (seeds {args.seed}..{args.seed + s['episodes'] - 1}): "
                  f"mean {s['mean']:.1f}, std {s['std']:.1f}, min {s['min']:.1f}, median {s['median']:.1f}, "
                  f"at or above 200: {100 * s['share_at_or_above']:.0f}%  [{outcomes}]", soft_wrap=True,
                  markup=False)  # the brackets are text, not rich markup
    print(hub_line(s["mean"], s["std"], args.env))
