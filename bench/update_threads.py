"""What one learn call costs, by preset and by TensorFlow's intra-op threads (issue 29: both cores, where it pays).

    python bench/update_threads.py [--calls 400]

For each preset (``configs/course.toml``, ``configs/fast.toml``) and 1 or 2 intra-op threads, a
fresh process builds the preset's agent, fills a replay memory with random rows, and times
``FastUpdate.learn`` on ``gradient_steps`` packed mini-batches (the loop's call, XLA-compiled),
after a warm-up: the median and the 10th-90th percentile in microseconds. ``lunar/__init__.py``
sets one thread unless ``TF_NUM_INTRAOP_THREADS`` is set, so each process sets it first.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(preset: str, calls: int) -> dict:
    """In this process: the learn call's timings for ``preset``."""
    import time

    import numpy as np

    sys.path.insert(0, str(ROOT))
    from lunar.agent import DQNAgent
    from lunar.config import DQNConfig, load_toml
    from lunar.fast_update import FastUpdate
    from lunar.replay import ReplayMemory

    config = DQNConfig(**load_toml(ROOT / "configs" / f"{preset}.toml"))
    update = FastUpdate(DQNAgent.from_config(config.replace(seed=0), 8, 4))
    rng = np.random.default_rng(0)
    memory = ReplayMemory(10_000, 8)
    for _ in range(10_000):
        memory.add(rng.normal(size=8), int(rng.integers(4)), float(rng.normal()), rng.normal(size=8), bool(rng.random() < 0.05))
    batches = [np.stack([memory.sample_packed(config.minibatch_size, rng) for _ in range(config.gradient_steps)])
               for _ in range(calls + 50)]
    times = []
    for i, batch in enumerate(batches):
        started = time.perf_counter()
        update.learn(batch, config.gamma)
        if i >= 50:
            times.append((time.perf_counter() - started) * 1e6)
    return {"median": float(np.median(times)), "p10": float(np.percentile(times, 10)),
            "p90": float(np.percentile(times, 90)), "gradient_steps": config.gradient_steps,
            "hidden_units": config.hidden_units}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--one", nargs=2, metavar=("PRESET", "CALLS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]))))
        return
    print("| preset | hidden units x gradient steps | intra-op threads | learn call, median us (p10-p90) |")
    print("|---|---|---:|---:|")
    for preset in ("course", "fast"):
        for threads in (1, 2):
            env = {**os.environ, "TF_NUM_INTRAOP_THREADS": str(threads), "TF_CPP_MIN_LOG_LEVEL": "3"}
            done = subprocess.run([sys.executable, __file__, "--one", preset, str(args.calls)], env=env,
                                  capture_output=True, text=True, check=True)
            row = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"| {preset} | {row['hidden_units']} x {row['gradient_steps']} | {threads} | "
                  f"{row['median']:,.0f} ({row['p10']:,.0f}-{row['p90']:,.0f}) |", flush=True)


if __name__ == "__main__":
    main()
