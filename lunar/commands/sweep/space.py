"""lunar-tune's search space: the TOML file read and checked (:func:`read_space`), and its ranges
as Ray Tune domains (:func:`tune_domains`). The file's keys are described in :mod:`lunar.commands.sweep.tuning`."""

from __future__ import annotations

import math
from dataclasses import fields
from pathlib import Path
from typing import Any

from lunar.config import DQNConfig, load_toml
from lunar.errors import UserError

BUDGET_KEYS = {"base": str, "seeds": list, "max_seconds": (int, float), "space": dict}
OPTIONAL_KEYS = {"seeds_per_trial": 1, "score": "mean", "base_first": False}
"""Keys a space may leave out, and their defaults: one seed a trial, scored as it is, the first trial TPE's."""
SCORE_RULES = ("mean", "worst")


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
            what = "number" if key == "max_seconds" else kind.__name__
            raise UserError(f"search space {path}: {key} must be a {what}")
    unknown = sorted(set(data) - set(BUDGET_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        raise UserError(f"search space {path}: unknown keys {', '.join(unknown)}")
    if not (_number(data["max_seconds"]) and data["max_seconds"] > 0) or not data["seeds"]:
        raise UserError(f"search space {path}: need max_seconds > 0 and at least one seed")
    data = {**OPTIONAL_KEYS, **data}
    per_trial = data["seeds_per_trial"]
    if isinstance(per_trial, bool) or not isinstance(per_trial, int) or not 1 <= per_trial <= len(data["seeds"]):
        raise UserError(f"search space {path}: seeds_per_trial must be a whole number from 1 to the number of seeds "
                        f"({len(data['seeds'])}), got {per_trial!r}")
    if data["score"] not in SCORE_RULES:
        raise UserError(f"search space {path}: score must be one of {', '.join(SCORE_RULES)}, got {data['score']!r}")
    if not isinstance(data["base_first"], bool):
        raise UserError(f"search space {path}: base_first must be true or false, got {data['base_first']!r}")
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
    data["first_points"] = [base_point(data, path)] if data["base_first"] else []
    return data


def base_point(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """The base preset's own values of the searched hyperparameters (``base_first = true``: the first trial,
    a yardstick in the table and a known point for TPE to grow from); UserError if one lies outside its range."""
    base = DQNConfig(**data["base_config"])
    point = {name: getattr(base, name) for name in data["space"]}
    for name, value in point.items():
        spec = data["space"][name]
        inside = value in spec["choices"] if "choices" in spec else spec["low"] <= value <= spec["high"]
        if not inside:
            raise UserError(f"search space {path}: base_first, but the base's {name} = {value!r} is outside its range")
    return point


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
