"""Where a run's wall time goes: environment steps, acting, the update, sampling, validation, the rest.

    python bench/where_time_goes.py --preset fast --seed 500

Trains one run of ``configs/PRESET.toml`` with ``lunar.train`` (no files written) while timers wrap
the environment's ``step``, the agent's ``q_values`` (acting), ``FastUpdate.learn`` (the compiled update),
the replay's ``sample_packed`` and the greedy validation test; prints seconds and shares of the
run's wall time. A timed call inside another (validation's environment steps) counts for the outer one.
The timers add a few microseconds a call: the rest includes them.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


DEPTH = [0]  # a call inside a timed call (validation's environment steps) counts for the outer one only


def timed(owner: object, name: str, totals: dict, label: str) -> Callable[[], None]:
    """Time every call of ``owner.name`` into ``totals[label]``; returns the undo."""
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        DEPTH[0] += 1
        try:
            return original(*args, **kwargs)
        finally:
            DEPTH[0] -= 1
            if DEPTH[0] == 0:
                totals[label] += time.perf_counter() - started

    setattr(owner, name, wrapper)
    return lambda: setattr(owner, name, original)


def time_parts(config, **train_kwargs) -> tuple[Any, dict[str, float]]:
    """``lunar.train(config, **train_kwargs)`` (no files unless asked) with each part timed: (result, seconds by part)."""
    import gymnasium

    from lunar import agent, fast_update, replay, training
    from lunar.run import stopping

    totals: dict[str, float] = defaultdict(float)
    undo = [timed(fast_update.FastUpdate, "learn", totals, "update (learn calls)"),
            timed(agent.DQNAgent, "q_values", totals, "acting (numpy Q-values)"),
            timed(replay.ReplayMemory, "sample_packed", totals, "sampling mini-batches"),
            timed(stopping, "validation_score", totals, "greedy validation episodes"),
            timed(gymnasium.wrappers.TimeLimit, "step", totals, "environment steps")]
    try:
        return training.train(config, **{"save_outputs": False, **train_kwargs}), dict(totals)
    finally:
        for restore in undo:
            restore()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--seed", type=int, default=500)
    args = parser.parse_args()
    from lunar.run.tfsetup import import_tensorflow_quietly

    import_tensorflow_quietly()
    from lunar.config import DQNConfig, load_toml

    config = DQNConfig(**{**load_toml(ROOT / "configs" / f"{args.preset}.toml"), "seed": args.seed})
    result, totals = time_parts(config)
    wall = result.wall_seconds
    print(f"{args.preset} preset, seed {args.seed}: {result.status}, {result.episodes} episodes, "
          f"{result.total_steps:,} steps, {wall:.1f} s wall")
    print("| part | seconds | share |\n|---|---:|---:|")
    for label, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"| {label} | {seconds:.1f} | {100 * seconds / wall:.0f}% |")
    print(f"| the rest (the loop, replay writes, reports) | {wall - sum(totals.values()):.1f} | "
          f"{100 * (wall - sum(totals.values())) / wall:.0f}% |")


if __name__ == "__main__":
    main()
