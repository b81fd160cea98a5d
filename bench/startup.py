"""What a user waits for beyond the training: a command's start (imports, the first compiled update) and end.

    python bench/startup.py [--runs 3]

Times, as a user waits for them (whole processes, the median of ``--runs``):

- ``python train.py --help``, ``python evaluate.py --help``, ``lunar-doctor --help``: the commands' floor;
- ``python -c "import tensorflow"``: the TensorFlow import every training or scoring command pays;
- ``python train.py --episodes 1`` (course preset) and ``--config configs/fast.toml --episodes 1``: a whole
  command that trains one episode, into a temporary folder;

then, inside one ``python train.py --config configs/fast.toml --episodes 3`` run, the parts of its start and
end (``bench/where_time_goes.py``'s timers): making the environment, building the agent, the first compiled
update (tracing and XLA), the run folder's first files, and its last files (checkpoint, history, curve,
symptoms, model).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.where_time_goes import timed  # noqa: E402


def whole(command: list[str], runs: int) -> float:
    """The median wall seconds of ``command`` as a whole process, run in a fresh temporary folder each time."""
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            subprocess.run([c.replace("OUT", folder) for c in command], cwd=ROOT, capture_output=True, check=True)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def parts() -> dict[str, float]:
    """Seconds of each part of a fast-preset start and end, in this process (after its imports)."""
    from lunar import agent, fast_update, training
    from lunar.commands.cli import train_main
    from lunar.run import outputs

    totals: dict[str, float] = defaultdict(float)
    undo = [timed(training, "make_env", totals, "making the environment"),
            timed(agent.DQNAgent, "__init__", totals, "building the agent (networks, Adam)"),
            timed(fast_update.FastUpdate, "_first_call", totals, "the first update (tracing, XLA, the check)"),
            timed(outputs.RunFolder, "begin", totals, "the run folder's first files"),
            timed(outputs.RunFolder, "finish", totals, "the last files (checkpoint, history, curve, symptoms)")]
    try:
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            train_main(["--config", str(ROOT / "configs" / "fast.toml"), "--episodes", "3", "--quiet",
                        "--output-dir", folder])
            totals["the whole train_main call"] = time.perf_counter() - started
    finally:
        for restore in undo:
            restore()
    return dict(totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs of each whole command (the median is shown)")
    args = parser.parse_args()
    python = sys.executable
    commands = {
        "python train.py --help": [python, "train.py", "--help"],
        "python evaluate.py --help": [python, "evaluate.py", "--help"],
        "python -c 'import tensorflow'": [python, "-c", "import tensorflow"],
        "python train.py --episodes 1": [python, "train.py", "--episodes", "1", "--quiet", "--output-dir", "OUT"],
        "python train.py --config configs/fast.toml --episodes 1": [
            python, "train.py", "--config", "configs/fast.toml", "--episodes", "1", "--quiet", "--output-dir", "OUT"],
        "python evaluate.py --episodes 1 --no-video": [python, "evaluate.py", "--episodes", "1", "--no-video"],
    }
    print(f"$ python bench/startup.py --runs {args.runs}\n\n| whole command | wall s (median) |\n|---|---:|")
    for label, command in commands.items():
        print(f"| `{label}` | {whole(command, args.runs):.2f} |", flush=True)
    from lunar.run.tfsetup import import_tensorflow_quietly

    import_tensorflow_quietly()
    print("\n| part of `train.py --config configs/fast.toml --episodes 3` | seconds |\n|---|---:|")
    for label, seconds in parts().items():
        print(f"| {label} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
