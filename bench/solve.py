"""Time to solve LunarLander, per seed and median, for a preset.

    python bench/solve.py --preset course --seeds 0 1 2 3 4
    python bench/solve.py --preset fast --seeds 0 1 2 3 4

Each seed runs ``python train.py --config configs/<preset>.toml --seed S`` in its own
process (so its peak resident memory is its own), then scores the saved model with
the evaluation protocol (100 greedy episodes, seeds 0..99). Results are appended to
``bench/results/solve_<preset>.csv`` and written as ``bench/results/solve_<preset>.md``
with the date, machine and versions.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def run_seed(preset: str, seed: int, workdir: Path) -> dict:
    import pandas as pd

    out = workdir / f"{preset}-{seed}"
    command = [sys.executable, str(ROOT / "train.py"), "--config", str(ROOT / "configs" / f"{preset}.toml"),
               "--seed", str(seed), "--output-dir", str(out), "--quiet"]
    log = workdir / f"{preset}-{seed}.log"
    with open(log, "w") as handle:
        proc = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak resident memory
    peak_kb = usage.ru_maxrss
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"seed {seed} failed: {log.read_text().strip()[-500:]}")
    history = pd.read_csv(out / "lunar_lander_history.csv")
    last = history.iloc[-1]
    solved = bool(last["moving_average"] >= 200)
    row = {"preset": preset, "seed": seed, "solved": solved, "episodes": int(last["episode"]),
           "env_steps": int(last["total_steps"]), "wall_seconds": float(last["elapsed_seconds"]),
           "peak_rss_mb": round(peak_kb / 1024, 1), "greedy_mean": float("nan"),
           "greedy_std": float("nan")}
    if solved:
        from lunar.evaluation import evaluate

        summary = evaluate(out / "lunar_lander_model.h5", episodes=100, seed=0).summary()
        row["greedy_mean"], row["greedy_std"] = round(summary["mean"], 1), round(summary["std"], 1)
    return row


def markdown(rows: list[dict], preset: str, command: str) -> str:
    import tensorflow as tf

    lines = [f"# Time to solve LunarLander-v3, preset `{preset}`", "",
             f"`{command}` on {datetime.date.today().isoformat()}; {platform.platform()}, {os.cpu_count()} CPUs, "
             f"Python {platform.python_version()}, TensorFlow {tf.__version__}.", "",
             "| seed | solved | episodes | env steps | wall s | greedy mean ± std (100 eps) | peak RSS MB |",
             "|---:|:---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['seed']} | {'yes' if r['solved'] else 'no'} | {r['episodes']} | {r['env_steps']:,} | "
                     f"{r['wall_seconds']:.0f} | {r['greedy_mean']:.1f} ± {r['greedy_std']:.1f} | {r['peak_rss_mb']} |")
    med = {k: statistics.median(r[k] for r in rows) for k in ("episodes", "env_steps", "wall_seconds")}
    solved = [r for r in rows if r["solved"]]
    greedy = statistics.median(r["greedy_mean"] for r in solved) if solved else float("nan")
    lines.append(f"| **median** | {len(solved)}/{len(rows)} | {med['episodes']:.0f} | {med['env_steps']:,.0f} | "
                 f"{med['wall_seconds']:.0f} | {greedy:.1f} | {max(r['peak_rss_mb'] for r in rows)} (max) |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=["course", "fast"], default="course")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    command = f"python bench/solve.py --preset {args.preset} --seeds {' '.join(map(str, args.seeds))}"
    print(f"$ {command}", flush=True)

    import pandas as pd

    from lunar.atomic import write_text
    from lunar.tfsetup import import_tensorflow_quietly

    import_tensorflow_quietly()

    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for seed in args.seeds:
            row = run_seed(args.preset, seed, Path(workdir))
            rows.append(row)
            print(", ".join(f"{k} {v}" for k, v in row.items()), flush=True)
    args.results.mkdir(parents=True, exist_ok=True)
    write_text(args.results / f"solve_{args.preset}.csv", pd.DataFrame(rows).to_csv(index=False))
    table = markdown(rows, args.preset, command)
    write_text(args.results / f"solve_{args.preset}.md", table)
    print()
    print(table)


if __name__ == "__main__":
    main()
