"""When a run stops, in one place: :func:`stop_reason` is asked after every episode by the one loop
driver, :func:`lunar.training.train` (``python train.py``, sweeps, lunar-tune and the grader all go
through it). Solved (the moving average, then the optional greedy validation test), the episode
cap, a :class:`Budget` of steps or CPU time, or a :class:`StopRequest` (Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import math
import signal
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from lunar.reports.evaluation import VALIDATION_SEED, evaluate
from lunar.run.state import Run


@dataclass(frozen=True)
class Budget:
    """Where a run stops short of solving: after ``steps`` environment steps (the last episode is cut
    there) or, between episodes, once this process has spent ``cpu_seconds`` of CPU time since ``start``."""

    steps: float = math.inf
    cpu_seconds: float = math.inf
    start: float = field(default_factory=time.process_time)

    def spent(self, run: Run) -> str | None:
        if run.total_steps >= self.steps:
            return "step_budget"
        return "time_budget" if time.process_time() - self.start >= self.cpu_seconds else None


def stop_reason(run: Run, interrupt: "StopRequest", budget: Budget,
                message: Callable[[str], None] = lambda text: None) -> str | None:
    """Why the run stops now, or None to play another episode: the one place that decides."""
    if run.history and run.history[-1]["moving_average"] >= run.config.target_score and \
            take_validation_test(run, message):
        return "solved"
    if len(run.history) >= run.config.num_episodes:
        return "episode_cap"
    return budget.spent(run) or ("interrupted" if interrupt.requested else None)


def validation_score(run: Run, episodes: int) -> float:
    """mean_{i < episodes} G_greedy(reset seed 1,000,000 + i), played by the network the run would
    save: the validation test's score, and lunar-tune's."""
    return float(evaluate(run.saved_network(), run.config.env_id, episodes, VALIDATION_SEED).returns.mean())


def take_validation_test(run: Run, message: Callable[[str], None]) -> bool:
    """Takes the optional second stopping test when it is due (playing its episodes and saying the
    score through ``message``) and returns whether it passed. It is for a run whose moving average is
    at ``target_score``: :func:`validation_score` over ``validation_episodes`` episodes >= ``validation_target``.

    It is taken on the episode where the average reaches the target and every ``validation_every``
    episodes after; in between it fails. It reads no random state, so a run's history is the same
    with and without it until it stops.
    """
    c = run.config
    if c.validation_episodes == 0:
        return True
    episode = len(run.history)
    reached_now = episode == 1 or run.history[-2]["moving_average"] < c.target_score
    if not (reached_now or episode % c.validation_every == 0):
        return False
    score = validation_score(run, c.validation_episodes)
    passed = score >= c.validation_target
    message(f"episode {episode}: greedy validation {score:.1f} on {c.validation_episodes} episodes "
            f"({'>=' if passed else '<'} {c.validation_target:g}): {'solved' if passed else 'training on'}")
    return passed


class StopRequest:
    """Turns SIGINT/SIGTERM into a request to stop after the current episode; a second
    signal raises KeyboardInterrupt at once (the last checkpoint is still on disk)."""

    def __init__(self) -> None:
        self.requested: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "StopRequest":
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        except ValueError:  # not the main thread: signals stay as they are
            self._previous.clear()
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested is not None:
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
