"""What a sweep runs: every combination of presets, overrides and seeds, as a list of trials.

No Ray here: a plan is checked whole (every configuration valid) before anything starts.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from lunar.config import INTEGER_LIMITS, DQNConfig, load_toml
from lunar.errors import UserError

MAX_TRIALS = 100_000


@dataclass(frozen=True)
class Trial:
    """One training run of a sweep: a preset, its overrides and a seed."""

    preset: str
    overrides: tuple[tuple[str, Any], ...]
    seed: int
    config: dict[str, Any]
    """The resolved :class:`DQNConfig` fields."""

    @property
    def variant(self) -> str:
        """The preset and its overrides, without the seed: the rows of the aggregate table."""
        return " ".join([self.preset, *(f"{k}={v}" for k, v in self.overrides)])

    @property
    def trial_id(self) -> str:
        """A file-name-safe name, unique in its plan."""
        return re.sub(r"[^A-Za-z0-9_.=-]+", "_", f"{self.variant.replace(' ', '_')}_seed{self.seed}")


def parse_seeds(text: str) -> list[int]:
    """``"0-9"``, ``"3"`` or ``"0,2,5-7"`` as a sorted list of distinct seeds."""
    seeds: set[int] = set()
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not match:
            raise UserError(f"--seeds: {part.strip()!r} is not a seed or a range like 0-9")
        low, high = int(match.group(1)), int(match.group(2) or match.group(1))
        if high < low or high > INTEGER_LIMITS["seed"] or high - low >= MAX_TRIALS:
            raise UserError(f"--seeds: {part.strip()!r} is not a range of seeds from low to high, "
                            f"at most {MAX_TRIALS:,} seeds up to {INTEGER_LIMITS['seed']:,}")
        seeds.update(range(low, high + 1))
    return sorted(seeds)


def _typed(name: str, text: str) -> Any:
    kind = {f.name: f.type for f in fields(DQNConfig)}[name]
    kind = kind if isinstance(kind, str) else kind.__name__
    try:
        if kind == "bool":
            if text.lower() not in ("true", "false"):
                raise ValueError
            return text.lower() == "true"
        return {"int": int, "float": float, "str": str}[kind](text)
    except ValueError:
        raise UserError(f"--set {name}: {text!r} is not a {kind}") from None


def parse_override(text: str) -> tuple[str, list[Any]]:
    """``"gamma=0.99,0.995"`` as ``("gamma", [0.99, 0.995])``."""
    name, sep, values = text.partition("=")
    name = name.strip()
    known = {f.name for f in fields(DQNConfig)}
    if not sep or not values.strip():
        raise UserError(f"--set {text!r}: write NAME=VALUE[,VALUE...], e.g. gamma=0.99,0.995")
    if name not in known or name == "seed":
        raise UserError(f"--set {name!r}: not a hyperparameter" + (" (seeds go in --seeds)" if name == "seed" else
                                                                     f"; known: {', '.join(sorted(known - {'seed'}))}"))
    return name, [_typed(name, value.strip()) for value in values.split(",")]


def make_plan(presets: list[Path], seeds: list[int], overrides: list[tuple[str, list[Any]]],
              fixed: dict[str, Any] | None = None) -> list[Trial]:
    """Every preset x override combination x seed, each configuration validated.

    ``fixed`` replaces fields in every trial (e.g. ``num_episodes`` for a short sweep)."""
    names = [name for name, _ in overrides]
    if len(set(names)) != len(names):
        raise UserError("--set: a hyperparameter is named twice; give its values in one --set NAME=A,B")
    stems = [path.stem for path in presets]
    if len(set(stems)) != len(stems):
        raise UserError("--config: two presets with one name")
    combos = list(itertools.product(*[values for _, values in overrides]))
    if len(presets) * len(combos) * len(seeds) > MAX_TRIALS:
        raise UserError(f"the sweep would run more than {MAX_TRIALS:,} trials")
    trials = []
    for path, combo, seed in itertools.product(presets, combos, seeds):
        changes = dict(zip(names, combo))
        try:
            config = DQNConfig(**{**load_toml(path), **(fixed or {}), **changes, "seed": seed})
        except TypeError as error:
            raise UserError(f"{path}: {error}") from None
        trials.append(Trial(path.stem, tuple(changes.items()), seed, config.to_dict()))
    return trials
