"""Named symptoms of a run that does not learn, or learns badly, read from its history.

Each symptom has a threshold, the evidence that crossed it and one sentence on what to check.
"Random play" is the average of the first ``num_p_av`` episodes, played at epsilon near 1;
"progress" is how far the moving average has come from there toward ``target_score``.

- **hovering**: at least ``HOVER_SHARE`` of the last ``num_p_av`` episodes ran to the time limit;
- **Q-values diverging**: the mean Q of the last episodes is above ``Q_FACTOR`` times the largest
  return any episode reached (a Q-value estimates a discounted return, so it cannot be far above
  every return seen);
- **loss exploding**: the median loss of the last episodes is ``LOSS_FACTOR`` times that of the
  first episodes with updates, or more;
- **epsilon at its floor early**: epsilon reached ``e_min`` while progress was under ``EARLY_PROGRESS``,
  in a run that has not reached the target;
- **no learning**: after ``NO_LEARNING_EPISODES`` episodes, progress is under ``NO_PROGRESS``;
- **collapse**: the average rose by ``COLLAPSE_RISE`` of the way to the target, then lost half of it;
- **rising and falling back**: at least ``FALLS`` times, the average fell by ``FALL_SHARE`` of the way to
  the target or more below a level it had reached, a level at least ``COLLAPSE_RISE`` of the way up (the
  fast preset's slow seeds: 182 at episode 650, 58 at 850, 188 at 950, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from lunar.config import DQNConfig

HOVER_SHARE = 0.25
Q_FACTOR = 3.0
LOSS_FACTOR = 50.0
EARLY_PROGRESS = 0.25
NO_LEARNING_EPISODES = 300
NO_PROGRESS = 0.1
COLLAPSE_RISE = 0.5
FALL_SHARE = 0.15
FALLS = 2
RECENT = 20
"""Episodes that "the last episodes" and "the first episodes with updates" mean."""


@dataclass(frozen=True)
class Symptom:
    name: str
    evidence: str
    check: str

    def line(self) -> str:
        return f"{self.name}: {self.evidence}. Check: {self.check}"


def diagnose(history: pd.DataFrame, config: DQNConfig) -> list[Symptom]:
    """Every symptom the history shows (none for a healthy run, nor for one too short to judge)."""
    if len(history) < config.num_p_av:
        return []
    found = (check(history, config) for check in CHECKS)
    return [symptom for symptom in found if symptom is not None]


def symptoms_text(history: pd.DataFrame, config: DQNConfig) -> str:
    """What a run writes to ``<stem>_symptoms.txt``: one line per symptom, or "no named symptom"."""
    return "".join(f"{s.line()}\n" for s in diagnose(history, config)) or "no named symptom\n"


def _progress(average: float, history: pd.DataFrame, config: DQNConfig) -> float:
    random_play = float(history["moving_average"].iloc[config.num_p_av - 1])
    return (average - random_play) / max(config.target_score - random_play, 1e-9)


def _hovering(history: pd.DataFrame, config: DQNConfig) -> Symptom | None:
    share = float((history["steps"].iloc[-config.num_p_av:] >= config.max_num_timesteps).mean())
    if share < HOVER_SHARE:
        return None
    return Symptom("hovering until the time limit", f"{share:.0%} of the last {config.num_p_av} episodes ran to "
                   f"the {config.max_num_timesteps}-step limit", "the agent avoids ending episodes instead of "
                   "finishing them: check that done_vals marks terminal states (terminated, not truncated) and "
                   "that y uses (1 - done_vals); more episodes often end it")


def _q_diverging(history: pd.DataFrame, config: DQNConfig) -> Symptom | None:
    mean_q = history["mean_q"].dropna()
    if mean_q.empty:
        return None
    recent, largest = float(mean_q.iloc[-RECENT:].mean()), float(history["return"].abs().max())
    if recent <= Q_FACTOR * max(largest, 1.0):
        return None
    return Symptom("Q-values diverging", f"mean Q {recent:,.0f} over the last episodes, while no episode's return "
                   f"was beyond {largest:,.0f}", "targets that bootstrap without end: check (1 - done_vals) in "
                   "y, and that max Q(s', a') comes from the target network")


def _loss_exploding(history: pd.DataFrame, config: DQNConfig) -> Symptom | None:
    loss = history["loss"].dropna()
    if len(loss) < 2 * RECENT:
        return None
    first, last = float(loss.iloc[:RECENT].median()), float(loss.iloc[-RECENT:].median())
    if last < LOSS_FACTOR * max(first, 1e-9):
        return None
    return Symptom("loss exploding", f"median loss {last:,.1f} over the last {RECENT} episodes against "
                   f"{first:,.2f} over the first {RECENT} with updates", "a learning rate too high for the "
                   "targets, or targets that grow (see Q-values): try a smaller alpha, or loss = \"huber\"")


def _epsilon_floor_early(history: pd.DataFrame, config: DQNConfig) -> Symptom | None:
    at_floor = np.flatnonzero(history["epsilon"].to_numpy() <= config.e_min + 1e-12)
    if at_floor.size == 0 or float(history["moving_average"].iloc[-1]) >= config.target_score:
        return None  # never at the floor, or it learned in time all the same (the fast preset's way)
    episode = int(at_floor[0])
    average = float(history["moving_average"].iloc[episode])
    if episode < config.num_p_av or _progress(average, history, config) >= EARLY_PROGRESS:
        return None
    return Symptom("epsilon at its floor before the average rose", f"epsilon reached {config.e_min:g} at episode "
                   f"{episode + 1}, when the average was {average:.0f}", "exploration ended before learning "
                   "began: decay epsilon more slowly (e_decay nearer 1), or look for why learning is slow")


def _no_learning(history: pd.DataFrame, config: DQNConfig) -> Symptom | None:
    average = float(history["moving_average"].iloc[-1])
    if len(history) < NO_LEARNING_EPISODES or _progress(average, history, config) >= NO_PROGRESS:
        return None
    random_play = float(history["moving_average"].iloc[config.num_p_av - 1])
    return Symptom("no learning", f"after {len(history)} episodes the average is {average:.0f}, random play's was "
                   f"{random_play:.0f}", "the update may not reach the Q-network: check that the gradient is of "
                   "the loss with respect to q_network.trainable_variables, and that the optimizer applies it")


def _collapse(history: pd.DataFrame, config: DQNConfig) -> Symptom | None:
    averages = history["moving_average"].to_numpy()[config.num_p_av - 1:]
    peak_at = int(np.argmax(averages))
    peak, last = float(averages[peak_at]), float(averages[-1])
    random_play = float(averages[0])
    if _progress(peak, history, config) < COLLAPSE_RISE or last > peak - 0.5 * (peak - random_play):
        return None
    return Symptom("the average collapsed after it rose", f"from {peak:.0f} at episode {peak_at + config.num_p_av} "
                   f"to {last:.0f} at episode {len(history)}", "the agent forgets what it learned: a smaller "
                   "learning rate, a larger replay memory, or double_dqn = true")


def falls(averages: np.ndarray, floor: float, way: float) -> list[tuple[int, float, int, float]]:
    """``(peak index, peak, trough index, trough)`` of each fall of ``averages`` by ``FALL_SHARE * way`` or
    more below its highest value since the last fall, that value at ``floor`` or above; a fall ends
    where the average is lowest before it climbs back past the fall's threshold."""
    found, peak_at, trough_at = [], 0, None
    for i, value in enumerate(averages):
        if trough_at is not None:
            if value < averages[trough_at]:
                trough_at = i
            elif value >= averages[trough_at] + FALL_SHARE * way:
                found.append((peak_at, float(averages[peak_at]), trough_at, float(averages[trough_at])))
                peak_at, trough_at = i, None
            continue
        if value > averages[peak_at]:
            peak_at = i
        elif averages[peak_at] >= floor and averages[peak_at] - value >= FALL_SHARE * way:
            trough_at = i
    if trough_at is not None:
        found.append((peak_at, float(averages[peak_at]), trough_at, float(averages[trough_at])))
    return found


def _rising_and_falling(history: pd.DataFrame, config: DQNConfig) -> Symptom | None:
    averages = history["moving_average"].to_numpy()[config.num_p_av - 1:]
    random_play = float(averages[0])
    way = max(config.target_score - random_play, 1e-9)
    found = falls(averages, random_play + COLLAPSE_RISE * way, way)
    if len(found) < FALLS:
        return None
    shown = "; ".join(f"{peak:.0f} at episode {i + config.num_p_av} to {low:.0f} at {j + config.num_p_av}"
                      for i, peak, j, low in found[:3])
    return Symptom("the average rises and falls back", f"it fell {len(found)} times: {shown}",
                   "learning that overshoots and forgets: a smaller learning rate (alpha) or tau, a larger "
                   "mini-batch or replay memory")


CHECKS: tuple[Callable[[pd.DataFrame, DQNConfig], Symptom | None], ...] = (
    _hovering, _q_diverging, _loss_exploding, _epsilon_floor_early, _no_learning, _collapse, _rising_and_falling)
