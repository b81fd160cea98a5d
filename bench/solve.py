"""Time to solve LunarLander, per seed and across seeds, for a preset: a thin use of lunar-sweep.

    python bench/solve.py --preset fast --seeds 0-9
    python bench/solve.py --preset course --seeds 0-2

Runs ``lunar-sweep --config configs/<preset>.toml --seeds S`` (all CPUs, one run per CPU; stopped
and started again, it goes on where it was) into ``bench/runs/solve_<preset>_<seeds>/``, then
writes ``bench/results/solve_<preset>.csv`` (one row per seed) and ``solve_<preset>.md`` (the rows,
the aggregate line and the sweep's wall time, with the date, machine and versions).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="course", help="a file in configs/ (course, fast, ...)")
    parser.add_argument("--seeds", default="0-4", help="seeds, e.g. 0-9")
    args = parser.parse_args()
    folder = ROOT / "bench" / "runs" / f"solve_{args.preset}_{args.seeds}"
    command = ["lunar-sweep", "--config", f"configs/{args.preset}.toml", "--seeds", args.seeds]
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "lunar.commands.sweep", *command[1:], "--output-dir", str(folder)],
                          cwd=ROOT)
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        return done.returncode
    write_results(args.preset, folder, " ".join(command), wall)
    return done.returncode


def write_results(preset: str, folder: Path, command: str, wall: float) -> None:
    import pandas as pd
    import tensorflow as tf

    runs = pd.read_csv(folder / "runs.csv").sort_values("seed")
    results = ROOT / "bench" / "results"
    runs.to_csv(results / f"solve_{preset}.csv", index=False)
    lines = [f"# Time to solve LunarLander-v3, preset `{preset}`", "",
             f"`{command}` ({wall / 60:.1f} min wall for the sweep) on {datetime.date.today().isoformat()}; "
             f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, TensorFlow "
             f"{tf.__version__}. Greedy: the saved model's official score (100 episodes, seeds 0..99).", "",
             "| seed | solved | episodes | env steps | wall s | greedy mean | at or above 200 | peak RSS MB |",
             "|---:|:---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs.itertuples():
        lines.append(f"| {r.seed} | {'yes' if r.solved else 'no'} | {r.episodes:.0f} | {r.total_steps:,.0f} | "
                     f"{r.wall_seconds:.0f} | {r.greedy_mean:.1f} | {r.greedy_share_200:.0%} | {r.peak_rss_mb} |")
    lines += ["", "Across seeds (`summary.md` of the sweep):", "", (folder / "summary.md").read_text()]
    (results / f"solve_{preset}.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
