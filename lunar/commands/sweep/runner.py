"""A sweep's driver: run every pending trial of a plan on Ray Tune, record each as it finishes,
and write the per-run CSV, the aggregate table and the learning curves.

The output folder holds the plan (``sweep.json``) and one record per finished trial
(``trials/<id>.json``, written atomically by the driver). A sweep stopped in any way and
started again with the same arguments runs only the trials without a record; a trial
that was mid-run resumes from its own checkpoint (``runs/<id>/``).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from lunar.run import lock
from lunar.run.atomic import write_text
from lunar.errors import UserError
from lunar.commands.sweep.plan import Trial
from lunar.commands.sweep.stats import RUN_COLUMNS, aggregate, curve_band, markdown, plot_curves


def sweep_trainable(param: dict[str, Any]) -> None:
    """What a Ray worker runs for one trial; a failure becomes the trial's ``error``, reported."""
    import ray
    from ray import tune

    from lunar.commands.sweep.trial import run_trial

    spec = param["trial"]
    node = ray.get_runtime_context().get_node_id()[:12]
    try:
        row = run_trial(spec["trial_id"], spec["config"], spec["runs_dir"], spec["eval_episodes"],
                        spec["checkpoint_every"])
    except Exception as error:  # noqa: BLE001 - reported to the driver, the other trials go on
        row = {"trial_id": spec["trial_id"], "error": f"{type(error).__name__}: {error}"}
    tune.report({**row, "node": node})


class Sweep:
    """The output folder of a sweep and what is recorded in it."""

    def __init__(self, folder: Path, trials: list[Trial], eval_episodes: int) -> None:
        self.folder, self.trials, self.eval_episodes = Path(folder), trials, eval_episodes
        self.plan = {"eval_episodes": eval_episodes, "trials": [asdict(t) | {"trial_id": t.trial_id} for t in trials]}

    def check(self) -> None:
        """Refuse a folder that holds another sweep's plan (nothing is written)."""
        path = self.folder / "sweep.json"
        try:
            stored = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
        except (ValueError, RecursionError):
            raise UserError(f"{self.folder}/sweep.json is not a readable sweep plan: remove it, or choose "
                            "another --output-dir") from None
        if stored is not None and stored != json.loads(json.dumps(self.plan)):
            raise UserError(f"{self.folder} holds another sweep (other presets, seeds, overrides or "
                            "--eval-episodes); rerun it with its own arguments, or choose another --output-dir")

    def claim(self) -> None:
        """Lock the folder (one driver at a time) and write the plan."""
        lock.acquire(self.folder)
        try:
            self.check()
        except UserError:
            lock.release(self.folder)
            raise
        write_text(self.folder / "sweep.json", json.dumps(self.plan, indent=1))

    def record_path(self, trial_id: str) -> Path:
        return self.folder / "trials" / f"{trial_id}.json"

    def record(self, trial: Trial, row: dict[str, Any]) -> None:
        row = {"variant": trial.variant, "preset": trial.preset, "seed": trial.seed, **row}
        write_text(self.record_path(trial.trial_id), json.dumps(row, allow_nan=True))

    def finished(self, trial: Trial) -> dict[str, Any] | None:
        """The trial's record, or None when it has none, an unreadable one or a failure: run it."""
        row = _read_record(self.record_path(trial.trial_id))
        return row if row and not row.get("error") else None

    def pending(self) -> list[Trial]:
        return [t for t in self.trials if self.finished(t) is None]


def run_sweep(sweep: Sweep, checkpoint_every: int, echo: Callable[[str], None]) -> int:
    """Run the pending trials of ``sweep`` (already claimed, Ray connected); 0 if every trial
    finished, 1 if any failed. The summary files are written either way."""
    from ray import tune

    from lunar.commands.sweep import engine

    by_id = {t.trial_id: t for t in sweep.trials}
    pending = sweep.pending()
    done = len(sweep.trials) - len(pending)
    echo(f"{len(sweep.trials)} trials: {done} already done, {len(pending)} to run")
    failures: list[str] = []

    def on_result(config: dict, metrics: dict) -> None:
        nonlocal done
        trial = by_id[config["trial"]["trial_id"]]
        row = {key: metrics[key] for key in (*RUN_COLUMNS, "curve_steps", "curve_average") if key in metrics}
        row["trial_id"] = trial.trial_id  # Tune adds its own trial_id to every result
        sweep.record(trial, row)
        done += 1
        if row.get("error"):
            failures.append(trial.trial_id)
        echo(f"[{done}/{len(sweep.trials)}] {trial.variant} seed {trial.seed}: {describe(row)}")

    if pending:
        spec = [{"trial_id": t.trial_id, "config": t.config, "runs_dir": str((sweep.folder / "runs").resolve()),
                 "eval_episodes": sweep.eval_episodes, "checkpoint_every": checkpoint_every} for t in pending]
        engine.run(sweep_trainable, {"trial": tune.grid_search(spec)}, sweep.folder / "ray",
                   f"sweep-{int(time.time())}", on_result)
    write_summary(sweep)
    if failures:
        echo(f"{len(failures)} trial(s) failed ({', '.join(failures)}): their errors are in runs.csv; "
             "run the same command again to retry them")
    return 1 if failures or sweep.pending() else 0


def describe(row: dict[str, Any]) -> str:
    if row.get("error"):
        return f"FAILED: {row['error']}"
    text = f"{row['status']} after {row['episodes']:,} episodes, {row['total_steps']:,} steps, " \
           f"{row['wall_seconds']:.0f} s ({row.get('cpu_seconds', math.nan):.0f} CPU s)"
    greedy = row.get("greedy_mean")
    return text + (f"; greedy {greedy:.1f}" if greedy is not None and not math.isnan(greedy) else "")


def _read_record(path: Path) -> dict[str, Any] | None:
    try:
        row = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return row if isinstance(row, dict) else None


def write_summary(sweep: Sweep) -> pd.DataFrame:
    """``runs.csv``, ``summary.csv``, ``summary.md`` and ``curves.png`` from the trials recorded so far."""
    rows = [row for row in (_read_record(sweep.record_path(t.trial_id)) for t in sweep.trials) if row]
    runs = pd.DataFrame(rows).reindex(columns=RUN_COLUMNS)
    write_text(sweep.folder / "runs.csv", runs.to_csv(index=False))
    finished = runs[runs["error"].isna()] if len(runs) else runs
    table = aggregate(finished, np.random.default_rng(0))
    write_text(sweep.folder / "summary.csv", table.to_csv(index=False))
    write_text(sweep.folder / "summary.md", markdown(table))
    bands = {}
    for variant in table["variant"] if len(table) else []:
        curves = [(np.asarray(r["curve_steps"]), np.asarray(r["curve_average"])) for r in rows
                  if r.get("variant") == variant and not r.get("error")]
        bands[variant] = curve_band(curves)
    if bands:
        target = sweep.trials[0].config["target_score"]
        plot_curves(bands, sweep.folder / "curves.png", target=target)
    return table
