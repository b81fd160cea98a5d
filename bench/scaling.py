"""Does a sweep use every core? One seed alone against two seeds at once, on Ray.

    python bench/scaling.py                      # fast preset, 150 episodes a run
    python bench/scaling.py --episodes 300

Runs ``lunar-sweep --config configs/fast.toml --episodes N --eval-episodes 0`` with seed 0 on one
CPU, then with seeds 0 and 1 on two CPUs. A run's work is fixed by its seed, so seed 0's wall
time alone and in the pair compare like with like; the sweep's whole wall time (Ray's start-up
included) is quoted too. Writes ``bench/results/scaling.md``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sweep(seeds: str, cpus: int, episodes: int, folder: Path) -> tuple[float, dict[int, float]]:
    """The sweep's wall seconds and each run's own wall seconds, by seed."""
    import pandas as pd

    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lunar.commands.sweep", "--config", str(ROOT / "configs" / "fast.toml"),
                    "--seeds", seeds, "--episodes", str(episodes), "--eval-episodes", "0", "--cpus", str(cpus),
                    "--output-dir", str(folder)], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    runs = pd.read_csv(folder / "runs.csv")
    return wall, dict(zip(runs["seed"], runs["wall_seconds"]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=150)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        alone_wall, alone = sweep("0", 1, args.episodes, Path(tmp) / "one")
        pair_wall, pair = sweep("0-1", 2, args.episodes, Path(tmp) / "two")
    lines = [f"# Scaling: one seed alone, two at once ({datetime.date.today()})", "",
             f"`python bench/scaling.py --episodes {args.episodes}` on {platform.machine()}, {os.cpu_count()} CPUs, "
             f"Python {platform.python_version()}; fast preset, {args.episodes} episodes a run, one TensorFlow "
             "thread and one Ray CPU per run.", "",
             "| | seed 0 alone | seeds 0 and 1 at once | ratio |", "|---|---:|---:|---:|",
             f"| seed 0's run (its own wall time) | {alone[0]:.1f} s | {pair[0]:.1f} s | {pair[0] / alone[0]:.2f} |",
             f"| the whole sweep (Ray start-up included) | {alone_wall:.1f} s | {pair_wall:.1f} s | "
             f"{pair_wall / alone_wall:.2f} |", "",
             f"Seed 1's run took {pair[1]:.1f} s beside it. Two runs at once cost "
             f"{pair_wall / alone_wall:.2f} times one run's wall time, where one after the other would cost "
             f"{(alone[0] + pair[1]) / alone[0]:.2f} times."]
    (ROOT / "bench" / "results" / "scaling.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
