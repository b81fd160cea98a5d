"""The course preset's reference learning curve: is my curve normal?

``lunar/reports/data/course_reference.json`` (made by ``bench/reference_curve.py``, which records
its seeds, command and the kit's version) holds, per episode, percentiles across 12 training
seeds of the 100-episode moving average of the course's hyperparameters. It matches a run
whose hyperparameters are the course's (any seed, any episode cap); for any other run there
is no reference, and the kit says so rather than draw a wrong one.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from lunar.config import DQNConfig, is_course_preset

FREE_FIELDS = ("seed", "num_episodes")
"""Fields a run may change and still be compared with the reference."""


@dataclass(frozen=True)
class Reference:
    seeds: list[int]
    command: str
    percentiles: dict[int, np.ndarray]
    """10, 25, 50, 75, 90 -> the moving average's percentile across seeds, per episode (index 0: episode 1)."""
    solved_at: list[int]

    def band(self, episode: int) -> dict[int, float]:
        """The percentiles at ``episode`` (the last recorded one beyond the reference's length)."""
        index = min(max(episode, 1), len(self.percentiles[50])) - 1
        return {p: float(values[index]) for p, values in self.percentiles.items()}


@functools.lru_cache(maxsize=1)
def course_reference() -> Reference:
    """The shipped reference, read once per process (a run draws it at every checkpoint)."""
    data = json.loads(resources.files("lunar.reports").joinpath("data/course_reference.json").read_text(encoding="utf-8"))
    return Reference(data["seeds"], data["command"],
                     {int(p): np.asarray(v, float) for p, v in data["percentiles"].items()}, data["solved_at"])


def reference_for(config: DQNConfig) -> Reference | None:
    """The reference that matches ``config``'s run, or None (other hyperparameters, or no reference file)."""
    if not matches(config):
        return None
    try:
        return course_reference()
    except (OSError, ValueError, KeyError):  # a kit installed without its data file: draw no band
        return None


def matches(config: DQNConfig) -> bool:
    """True when ``config`` is the course preset but for :data:`FREE_FIELDS`."""
    return is_course_preset(config, but_for=FREE_FIELDS)


def placement(average: float, band: dict[int, float]) -> str:
    """Where ``average`` falls in a band of :meth:`Reference.band`: "inside the middle half", ..."""
    return ("inside the middle half" if band[25] <= average <= band[75] else
            "inside the middle 80%" if band[10] <= average <= band[90] else
            "above the top tenth" if average > band[90] else "below the bottom tenth")


def judgement(average: float, episode: int, reference: Reference) -> str:
    """One line placing a run's moving average at ``episode`` against the reference's band."""
    band = reference.band(episode)
    return (f"at episode {episode} your average ({average:.0f}) is {placement(average, band)} of the reference "
            f"({band[25]:.0f} to {band[75]:.0f} for the middle half, {band[10]:.0f} to {band[90]:.0f} for 80%; "
            f"{len(reference.seeds)} seeds of the course preset)")


def summary_line(history: Any, config: DQNConfig) -> str:
    """:func:`judgement` for the run's last episode, or why there is no reference."""
    reference = reference_for(config)
    if reference is None:
        return "no reference curve matches these hyperparameters (the reference is the course preset's)"
    if len(history) == 0:
        return "no episode to compare with the reference"
    return judgement(float(history["moving_average"].iloc[-1]), len(history), reference)
