"""One episode of a fixed policy, step by step: the one loop behind scoring (:mod:`lunar.evaluation`),
videos (:mod:`lunar.video`) and the validation test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np


@dataclass(frozen=True)
class Step:
    """Where an episode stands: ``t`` steps taken (0 at the reset), the state they led to, the last
    reward and the return so far, and whether the episode ended there."""

    t: int
    state: np.ndarray
    reward: float
    total: float
    terminated: bool = False
    truncated: bool = False


def play(env: Any, policy: Callable[[np.ndarray], int], seed: int | None = None,
         max_steps: int = 100_000) -> Iterator[Step]:
    """The reset ``env.reset(seed=seed)`` (``t = 0``), then one :class:`Step` per action of ``policy``,
    until the episode terminates, is truncated or has taken ``max_steps`` steps."""
    state, _ = env.reset(seed=seed)
    total = 0.0
    yield Step(0, state, 0.0, total)
    for t in range(1, max_steps + 1):
        state, reward, terminated, truncated, _ = env.step(policy(state))
        total += float(reward)
        yield Step(t, state, float(reward), total, bool(terminated), bool(truncated))
        if terminated or truncated:
            return


def last_step(steps: Iterator[Step]) -> Step:
    """Play ``steps`` to the end; the last one."""
    for step in steps:
        pass
    return step
