"""``lunar-tune``: hyperparameter search on Ray Tune, Optuna's TPE proposing, scored by the time a user waits.

A search space is a TOML file (``configs/tune_fast.toml``)::

    base = "fast.toml"            # the preset every trial starts from (relative to this file)
    seeds = [500, 501, 502]       # tuning seeds: a trial trains on seeds_per_trial of them
    max_seconds = 150             # CPU seconds a trial may spend on one seed before it is cut off
    seeds_per_trial = 3           # optional (1): a trial trains on this many seeds, one after the other
    score = "worst"               # optional ("mean"): a trial's score over its seeds, their mean or worst
    base_first = true             # optional (false): the first trial is the base preset's own values

    [space]
    alpha = { low = 1e-4, high = 2e-3, log = true }
    hidden_units = { choices = [64, 128, 256] }

A trial trains as ``python train.py --config`` would, under the preset's own stopping rule (the
moving average, and the greedy validation test when the preset has one), and its **score** is the
CPU time it took to stop solved: ``seconds = cpu_seconds`` if it solved, else ``2 * max_seconds``
(a cut-off trial ranks below every solved one); over several seeds, their mean or their worst, so
that a configuration that is quick on one lucky seed and slow on the next cannot win on one draw
(under the worst, a trial trains no seed after one cut off: its score is already the penalty).
CPU time, not wall time: TensorFlow runs on one thread (``lunar/__init__.py``), so a trial's CPU
time is the work it did, whatever runs on the next core. Lower is better. The best trial becomes a ready preset (``best.toml``); every trial is
a row of ``trials.csv`` and ``trials.md``. Report a preset chosen here on seeds no decision saw.
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path
from typing import Any, Callable

from lunar.config import DQNConfig, to_toml
from lunar.errors import UserError
from lunar.commands.sweep.space import read_space, tune_domains


def tune_trainable(params: dict[str, Any], space: dict[str, Any]) -> None:
    """One trial in a Ray worker: :func:`lunar.training.train` on each of its seeds under the preset's
    stopping rule and a ``max_seconds`` CPU budget, reported once as its score (``seconds``, see the module)."""
    from ray import tune

    from lunar.training import train

    def run_seed(seed: int) -> dict[str, Any]:
        config = DQNConfig(**{**space["base_config"], **params, "seed": seed})
        return trial_score(train(config, save_outputs=False, max_cpu_seconds=space["max_seconds"]), space["max_seconds"])

    seeds = trial_seeds(tune.get_context().get_trial_id(), space["seeds"], space["seeds_per_trial"])
    scores = seed_scores(run_seed, seeds, space["score"])
    ran = seeds[:len(scores)]
    tune.report(combined_score(scores, space["score"]) | {"seed": ran[0], "seeds": " ".join(map(str, ran))})


def seed_scores(run_seed: Callable[[int], dict[str, Any]], seeds: list[int], rule: str) -> list[dict[str, Any]]:
    """``run_seed(seed)`` for each seed in turn; under ``rule = "worst"`` none after a seed that did not
    solve, since the trial's score is then that seed's penalty whatever the others do."""
    scores: list[dict[str, Any]] = []
    for seed in seeds:
        scores.append(run_seed(seed))
        if rule == "worst" and not scores[-1]["solved"]:
            break
    return scores


def trial_seeds(trial_id: str, seeds: list[int], count: int) -> list[int]:
    """``count`` consecutive tuning seeds (wrapping round), from one the trial's id picks."""
    start = int(hashlib.sha256(trial_id.encode()).hexdigest(), 16) % len(seeds)
    return [seeds[(start + i) % len(seeds)] for i in range(count)]


def combined_score(scores: list[dict[str, Any]], rule: str = "mean") -> dict[str, Any]:
    """One trial's metrics from its seeds' :func:`trial_score`: ``seconds`` their mean (or, ``rule =
    "worst"``, their largest), solved only if every seed solved, time, steps and episodes summed."""
    seconds = [s["seconds"] for s in scores]
    solved = sum(bool(s["solved"]) for s in scores)
    status = scores[0]["status"] if len(scores) == 1 else f"{solved} of {len(scores)} solved"
    return {"seconds": float(max(seconds) if rule == "worst" else sum(seconds) / len(seconds)),
            "solved": solved == len(scores), "status": status,
            **{key: sum(s[key] for s in scores) for key in ("cpu_seconds", "wall_seconds", "total_steps", "episodes")}}


def trial_score(result: Any, max_seconds: float) -> dict[str, Any]:
    """A :class:`lunar.training.TrainResult` as a trial's metrics: its score ``seconds``, and what it did."""
    seconds = result.cpu_seconds if result.solved else UNSOLVED_PENALTY * max_seconds
    return {"seconds": float(seconds), "solved": result.solved, "status": result.status,
            "cpu_seconds": float(result.cpu_seconds), "wall_seconds": float(result.wall_seconds),
            "total_steps": result.total_steps, "episodes": result.episodes}


UNSOLVED_PENALTY = 2.0
"""A trial cut off at ``max_seconds`` scores ``UNSOLVED_PENALTY * max_seconds``."""


def tune_command(space_file: Path, trials: int, seed: int, output_dir: Path | None = None,
                 address: str | None = None, cpus: int | None = None) -> int:
    """``lunar-tune``: ``trials`` trials of the space in ``space_file``, TPE seeded with ``seed``, written
    to ``output_dir`` (default ``tunes/<space name>``), on the Ray at ``address`` or a new local one."""
    from lunar.run import lock
    from lunar.run.atomic import check_writable
    from lunar.commands.sweep import engine

    space = read_space(space_file)
    folder = output_dir or Path("tunes") / space_file.stem
    check_writable(folder)
    engine.import_ray()
    import optuna
    from ray import tune
    from ray.tune.search.optuna import OptunaSearch

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    engine.connect(address, cpus or os.cpu_count())
    lock.acquire(folder)
    try:
        results = engine.run(
            tune.with_parameters(tune_trainable, space=space), tune_domains(space["space"]), folder / "ray",
            f"tune-{space_file.stem}", lambda config, metrics: _echo(config, metrics),
            tune.TuneConfig(metric="seconds", mode="min", num_samples=trials, search_alg=OptunaSearch(
                seed=seed, points_to_evaluate=space["first_points"] or None)))
        command = f"lunar-tune {space_file} --trials {trials} --seed {seed}"
        return write_tuning(results, space, command, folder)
    finally:
        lock.release(folder)


def _echo(config: dict[str, Any], metrics: dict[str, Any]) -> None:
    if "seconds" in metrics:
        chosen = ", ".join(f"{k}={_short(v)}" for k, v in config.items())
        print(f"{chosen}: {metrics['status']} after {metrics['total_steps']:,} steps, {metrics['cpu_seconds']:.0f} "
              f"CPU s ({metrics['wall_seconds']:.0f} s wall): score {metrics['seconds']:.0f}", flush=True)
    elif metrics.get("error"):
        print(f"{config}: FAILED, {metrics['error']}", flush=True)


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def write_tuning(results: Any, space: dict[str, Any], command: str, folder: Path) -> int:
    """``trials.csv``, ``trials.md`` and ``best.toml`` (a preset for ``train.py --config``): the trial
    with the lowest score, among those that solved."""
    import pandas as pd

    from lunar.run.atomic import write_text
    from lunar.commands.sweep.stats import markdown_table

    rows = []
    for result in results:
        metrics = result.metrics or {}
        rows.append({**result.config, **{key: metrics.get(key, math.nan) for key in SCORE_COLUMNS},
                     "error": str(result.error).splitlines()[-1] if result.error else ""})
    table = pd.DataFrame(rows).sort_values("seconds", na_position="last")
    write_text(folder / "trials.csv", table.to_csv(index=False))
    write_text(folder / "trials.md", markdown_table(
        [str(c) for c in table.columns], [[_short(_plain(v)) for v in row] for row in table.itertuples(index=False)]))
    solved = table[table["solved"].eq(True)]
    if solved.empty:
        raise UserError(f"no trial solved within max_seconds = {space['max_seconds']:g}; see "
                        f"{folder / 'trials.csv'}")
    best = solved.iloc[0]
    config = DQNConfig(**{**space["base_config"], **{k: _plain(v) for k, v in best.items() if k in space["space"]}})
    over = f"the {space['score']} of seeds {best['seeds']}" if space["seeds_per_trial"] > 1 else f"seed {best['seeds']}"
    header = (f"# {command}: the fastest of {len(table)} trials ({len(solved)} solved),\n"
              f"# scored {best['seconds']:.0f} CPU s, {over} ({int(best['total_steps']):,} steps in all). "
              "Report it on seeds no decision looked at.\n")
    write_text(folder / "best.toml", header + to_toml(config))
    print(table.to_string(index=False))
    print(f"wrote {folder / 'best.toml'} (python train.py --config {folder / 'best.toml'}), "
          f"{folder / 'trials.csv'}")
    return 0


SCORE_COLUMNS = ("seconds", "solved", "status", "cpu_seconds", "wall_seconds", "total_steps", "episodes", "seed",
                 "seeds")
"""A trial's row of ``trials.csv`` after its hyperparameters: :func:`combined_score`, its first seed and all of them."""


def _plain(value: Any) -> Any:
    """numpy scalars from the table back to Python's int and float."""
    return value.item() if hasattr(value, "item") else value
