"""One trial of a sweep, as a worker runs it: :func:`lunar.training.train` into the trial's own
folder, then the official greedy score of the saved model. No Ray here: a trial is a plain
function of plain values, tested without a cluster.
"""

from __future__ import annotations

import math
import resource
from pathlib import Path
from typing import Any

CURVE_POINTS = 500
"""At most this many (total steps, moving average) points of each run's curve go back to the driver."""


def run_trial(trial_id: str, config: dict[str, Any], runs_dir: str, eval_episodes: int,
              checkpoint_every: int = 50) -> dict[str, Any]:
    """Train ``config`` into ``runs_dir/trial_id``, resuming the checkpoint that a stopped sweep left
    there; then score the model on seeds ``0..eval_episodes-1`` (the official protocol) if it solved.

    Returns the run's row of the per-run CSV and its learning curve (``curve_steps``, ``curve_average``)."""
    from lunar.run import checkpoint as ckpt
    from lunar.config import DQNConfig
    from lunar.reports.evaluation import evaluate
    from lunar.training import train

    folder = Path(runs_dir) / trial_id
    found = ckpt.latest_valid(folder / "checkpoints")
    result = train(DQNConfig(**config), folder, resume=found or False, checkpoint_every=checkpoint_every)
    row: dict[str, Any] = {"trial_id": trial_id, "status": result.status, "solved": result.solved,
                           "episodes": result.episodes, "total_steps": result.total_steps,
                           "steps_to_solve": result.total_steps if result.solved else math.nan,
                           "wall_seconds": float(result.history["elapsed_seconds"].iloc[-1])
                           if result.episodes else 0.0, "cpu_seconds": result.cpu_seconds,
                           "greedy_mean": math.nan, "greedy_share_200": math.nan}
    if result.solved and eval_episodes > 0:
        summary = evaluate(result.paths["model"], env=config["env_id"], episodes=eval_episodes).summary()
        row.update(greedy_mean=summary["mean"], greedy_share_200=summary["share_at_or_above"])
    row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # the worker's own
    every = max(1, math.ceil(result.episodes / CURVE_POINTS))
    thinned = result.history.iloc[::every]
    row["curve_steps"] = thinned["total_steps"].astype(float).tolist()
    row["curve_average"] = thinned["moving_average"].astype(float).tolist()
    return row
