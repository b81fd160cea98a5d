"""``lunar-tune``: hyperparameter search on Ray Tune, Optuna's TPE proposing, ASHA stopping early.

A search space is a TOML file (``configs/tune_fast.toml``)::

    base = "fast.toml"            # the preset every trial starts from (relative to this file)
    seeds = [100, 101, 102]       # tuning seeds: a trial trains on one of them
    max_steps = 150000            # environment steps per trial
    report_every = 25000          # steps between validation scores: ASHA's rungs
    validation_episodes = 10      # greedy episodes on seeds 1,000,000 and up

    [space]
    alpha = { low = 1e-4, high = 2e-3, log = true }
    hidden_units = { choices = [64, 128, 256] }

A trial's score is its **validation score**: the mean return of greedy episodes from
``reset(seed=1_000_000 + i)``, never the official seeds 0..99. The best trial becomes a ready
preset (``best.toml``); every trial is a row of ``trials.csv`` and ``trials.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
from dataclasses import fields
from pathlib import Path
from typing import Any

from lunar.config import DQNConfig, load_toml, to_toml
from lunar.errors import UserError
from lunar.evaluation import VALIDATION_SEED

BUDGET_KEYS = {"base": str, "seeds": list, "max_steps": int, "report_every": int, "validation_episodes": int,
               "space": dict}


def read_space(path: Path) -> dict[str, Any]:
    """The search-space file, checked: its base preset, budget, and each range a valid configuration."""
    from lunar.config import read_toml

    try:
        is_file = path.is_file()
    except (OSError, ValueError) as error:
        raise UserError(f"search space {path}: {getattr(error, 'strerror', None) or error}") from None
    if not is_file:
        raise UserError(f"search space {path} is not a file")
    data = read_toml(path, "search space")
    for key, kind in BUDGET_KEYS.items():
        if not isinstance(data.get(key), kind) or isinstance(data.get(key), bool):
            raise UserError(f"search space {path}: {key} must be a {kind.__name__}")
    if sorted(set(data) - set(BUDGET_KEYS)):
        raise UserError(f"search space {path}: unknown keys {', '.join(sorted(set(data) - set(BUDGET_KEYS)))}")
    if not 0 < data["report_every"] <= data["max_steps"] or data["validation_episodes"] < 1 or not data["seeds"]:
        raise UserError(f"search space {path}: need 0 < report_every <= max_steps, validation_episodes >= 1, "
                        "and at least one seed")
    data["base_config"] = load_toml(path.parent / data["base"])
    for name, spec in data["space"].items():
        for value in _corners(name, spec, path):
            try:
                DQNConfig(**{**data["base_config"], name: value})
            except (TypeError, UserError) as error:
                raise UserError(f"search space {path}: {name} = {value!r}: {error}") from None
    for seed in data["seeds"]:
        try:
            DQNConfig(**{**data["base_config"], "seed": seed})
        except (TypeError, UserError) as error:
            raise UserError(f"search space {path}: seed {seed!r}: {error}") from None
    return data


def _corners(name: str, spec: Any, path: Path) -> list[Any]:
    known = {f.name for f in fields(DQNConfig)} - {"seed", "env_id"}
    if name not in known:
        raise UserError(f"search space {path}: {name!r} is not a hyperparameter to tune")
    if isinstance(spec, dict) and set(spec) == {"choices"} and isinstance(spec["choices"], list) and spec["choices"]:
        return spec["choices"]
    if isinstance(spec, dict) and {"low", "high"} <= set(spec) <= {"low", "high", "log"} and \
            all(_number(spec[k]) for k in ("low", "high")) and isinstance(spec.get("log", False), bool) and \
            spec["low"] < spec["high"] and (spec["low"] > 0 or not spec.get("log")):
        return [spec["low"], spec["high"]]
    raise UserError(f"search space {path}: {name} must be {{ choices = [...] }} or {{ low = A, high = B, log = "
                    "true|false }} with numbers A < B (A > 0 when log = true)")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def tune_domains(space: dict[str, Any]) -> dict[str, Any]:
    """The TOML ranges as Tune domains (integers stay integers), which OptunaSearch turns into TPE's."""
    from ray import tune

    domains = {}
    for name, spec in space.items():
        if "choices" in spec:
            domains[name] = tune.choice(spec["choices"])
        elif isinstance(spec["low"], int) and isinstance(spec["high"], int):
            domains[name] = (tune.lograndint if spec.get("log") else tune.randint)(spec["low"], spec["high"] + 1)
        else:
            domains[name] = (tune.loguniform if spec.get("log") else tune.uniform)(spec["low"], spec["high"])
    return domains


def tune_trainable(params: dict[str, Any], space: dict[str, Any]) -> None:
    """One trial in a Ray worker: train for ``max_steps``, reporting the validation score every
    ``report_every`` steps (ASHA may stop it at any report)."""
    from ray import tune

    from lunar.run import Run
    from lunar.training import configure_tensorflow, run_episode, validation_score

    trial_id = tune.get_context().get_trial_id()
    seeds = space["seeds"]
    seed = seeds[int(hashlib.sha256(trial_id.encode()).hexdigest(), 16) % len(seeds)]
    config = DQNConfig(**{**space["base_config"], **params, "seed": seed, "num_episodes": 10_000_000})
    configure_tensorflow()
    run = Run.start(config)
    next_report = space["report_every"]
    while run.total_steps < space["max_steps"]:
        run_episode(run, max_total_steps=next_report)
        if run.total_steps >= next_report:
            tune.report({"validation": validation_score(run, space["validation_episodes"]), "seed": seed,
                         "total_steps": run.total_steps, "episodes": len(run.history)})
            next_report += space["report_every"]
    run.env.close()


def tune_command(args: argparse.Namespace) -> int:
    """``lunar-tune`` with its arguments parsed and their numbers checked (:mod:`lunar.sweep.cli`)."""
    from lunar import lock
    from lunar.atomic import check_writable
    from lunar.sweep import engine

    space = read_space(args.space)
    folder = args.output_dir or Path("tunes") / args.space.stem
    check_writable(folder)
    engine.import_ray()
    import optuna
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.optuna import OptunaSearch

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    engine.connect(args.address, args.cpus or os.cpu_count())
    lock.acquire(folder)
    try:
        rungs = space["max_steps"] // space["report_every"]
        results = engine.run(
            tune.with_parameters(tune_trainable, space=space), tune_domains(space["space"]), folder / "ray",
            f"tune-{args.space.stem}", lambda config, metrics: _echo(config, metrics),
            tune.TuneConfig(metric="validation", mode="max", num_samples=args.trials,
                            search_alg=OptunaSearch(seed=args.seed),
                            scheduler=ASHAScheduler(max_t=rungs, grace_period=max(1, rungs // 4),
                                                    reduction_factor=2)))
        return write_tuning(results, space, args, folder)
    finally:
        lock.release(folder)


def _echo(config: dict[str, Any], metrics: dict[str, Any]) -> None:
    if "validation" in metrics:
        chosen = ", ".join(f"{k}={_short(v)}" for k, v in config.items())
        print(f"{chosen}: validation {metrics['validation']:.1f} at {metrics['total_steps']:,} steps", flush=True)
    elif metrics.get("error"):
        print(f"{config}: FAILED, {metrics['error']}", flush=True)


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def write_tuning(results: Any, space: dict[str, Any], args: argparse.Namespace, folder: Path) -> int:
    """``trials.csv``, ``trials.md`` and ``best.toml`` (a preset for ``train.py --config``)."""
    import pandas as pd

    from lunar.atomic import write_text

    rows = []
    for result in results:
        metrics = result.metrics or {}
        rows.append({**result.config, "validation": metrics.get("validation", math.nan),
                     "total_steps": metrics.get("total_steps"), "seed": metrics.get("seed"),
                     "error": str(result.error).splitlines()[-1] if result.error else ""})
    table = pd.DataFrame(rows).sort_values("validation", ascending=False, na_position="last")
    write_text(folder / "trials.csv", table.to_csv(index=False))
    write_text(folder / "trials.md", _markdown(table))
    scored = table.dropna(subset=["validation"])
    if scored.empty:
        raise UserError(f"no trial reported a validation score; see {folder / 'trials.csv'}")
    best = {k: _plain(v) for k, v in scored.iloc[0].items() if k in space["space"]}
    config = DQNConfig(**{**space["base_config"], **best})
    header = (f"# lunar-tune {args.space} --trials {args.trials} --seed {args.seed}: the best of {len(table)} "
              f"trials,\n# validation {scored.iloc[0]['validation']:.1f} (greedy, seeds {VALIDATION_SEED:,}+) "
              f"after {int(scored.iloc[0]['total_steps']):,} steps. Report it on seeds no decision looked at.\n")
    write_text(folder / "best.toml", header + to_toml(config))
    print(table.to_string(index=False))
    print(f"wrote {folder / 'best.toml'} (python train.py --config {folder / 'best.toml'}), "
          f"{folder / 'trials.csv'}")
    return 0


def _markdown(table: Any) -> str:
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(_short(_plain(v)) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def _plain(value: Any) -> Any:
    """numpy scalars from the table back to Python's int and float."""
    return value.item() if hasattr(value, "item") else value
