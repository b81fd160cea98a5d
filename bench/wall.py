"""What a user waits for, seed by seed: ``python train.py --config PRESET --seed S`` timed as a whole command.

    python bench/wall.py --config configs/fast.toml [--config OTHER.toml] --seeds 1300-1319 [--parallel 2]

Runs each seed's whole command (start-up and the final files included), ``--parallel`` at once (one per
core), into a temporary folder; then scores each saved model with the official protocol (100 greedy
episodes, seeds 0-99). Prints one row per seed (the command's wall seconds, the run's own wall seconds
from its history, steps, status, greedy mean) and the summary: median, 90th percentile and maximum of the
whole-command times, the greedy scores' IQM with its bootstrap 95% interval and the worst seed. Several
``--config`` run side by side: each seed's runs one after the other, so every preset meets the same load.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def one_seed(config: Path, seed: int, folder: Path) -> dict:
    out = folder / f"seed-{seed}"
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "train.py", "--config", str(config), "--seed", str(seed), "--quiet",
                           "--output-dir", str(out)], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:  # one failed seed is a row of the table, not the end of a long benchmark
        return {"config": str(config), "seed": seed, "command_s": round(wall, 1), "run_s": float("nan"),
                "steps": 0, "episodes": 0, "status": f"failed ({done.returncode})", "model": out / "missing.h5"}
    history = pd.read_csv(out / "lunar_lander_history.csv")
    return {"config": str(config), "seed": seed, "command_s": round(wall, 1), "run_s": float(history["elapsed_seconds"].iloc[-1]),
            "steps": int(history["total_steps"].iloc[-1]), "episodes": len(history),
            "status": done.stdout.strip().splitlines()[-1].split(":")[0] if done.stdout.strip() else "?",
            "model": out / "lunar_lander_model.h5"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, action="append", required=True,
                        help="a preset; repeat it to run several side by side, seed by seed")
    parser.add_argument("--seeds", required=True, help="FIRST-LAST")
    parser.add_argument("--parallel", type=int, default=2)
    args = parser.parse_args()
    first, last = (int(x) for x in args.seeds.split("-"))
    from lunar.reports.evaluation import evaluate
    from lunar.run.tfsetup import import_tensorflow_quietly

    import_tensorflow_quietly()
    jobs = [(config, seed) for seed in range(first, last + 1) for config in args.config]
    with tempfile.TemporaryDirectory() as folder:
        with ThreadPoolExecutor(args.parallel) as pool:
            rows = list(pool.map(lambda job: one_seed(job[0], job[1], Path(folder) / job[0].stem), jobs))
        for row in rows:
            model = row.pop("model")
            row["greedy"] = round(float(evaluate(model, episodes=100).returns.mean()), 1) if model.exists() else None
    table = pd.DataFrame(rows)
    configs = " ".join(f"--config {c}" for c in args.config)
    print(f"$ python bench/wall.py {configs} --seeds {args.seeds} --parallel {args.parallel}\n")
    for config in args.config:
        print(f"## {config}\n")
        report(table[table["config"] == str(config)].drop(columns="config"))


def report(table: pd.DataFrame) -> None:
    """One preset's rows, then its summary: whole-command and run times, solved, the greedy IQM and worst seed."""
    from lunar.commands.sweep.stats import bootstrap_interval, iqm, markdown_table

    print(markdown_table([str(c) for c in table.columns], [[str(v) for v in row] for row in table.itertuples(index=False)]))
    times, greedy = table["command_s"].to_numpy(), table["greedy"].dropna().to_numpy()
    print(f"\nwhole command: median {np.median(times):.0f} s, 90th percentile {np.percentile(times, 90):.0f} s, "
          f"max {times.max():.0f} s; run's own time: median {table['run_s'].median():.0f} s, "
          f"90th percentile {table['run_s'].quantile(0.9):.0f} s; steps: median {table['steps'].median():,.0f}; "
          f"solved {int((table['status'] == 'solved').sum())} of {len(table)}")
    low, high = bootstrap_interval(greedy, iqm, np.random.default_rng(0))
    print(f"greedy (100 episodes, seeds 0-99): IQM {iqm(greedy):.1f} [95% CI {low:.1f}, {high:.1f}], "
          f"worst seed {greedy.min():.1f}\n")


if __name__ == "__main__":
    main()
