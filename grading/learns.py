"""``lunar-grade --train``: does a submission's code learn? One "learns" row per notebook.

After Exercises 1 and 2 pass, the submission's kernel trains its own ``compute_loss``,
networks and optimizer in the kit's loop (:func:`grading.kernel_training.train_in_kernel`, the course's
hyperparameters, seed ``--train-seed``) for a budget of episodes, and sends back the
returns, steps, epsilon, loss and mean Q of each episode, as data; the trained
Q-network is read back as every network is (:mod:`grading.mirror`). The grader then, in its own process (:func:`learns_row`):

- recomputes the 100-episode moving average from the returns (:func:`lunar.reports.plotting.moving_average`);
- judges it against the course preset's reference band at the last episode
  (:mod:`lunar.reports.reference`): it passes at or above the pass mark

      mark = (m100 + p10) / 2,

  where ``m100`` is the reference's median at episode 100 (epsilon still above 0.6: mostly
  random play) and ``p10`` its 10th percentile at the last episode: half of the rise that
  the slowest tenth of correct runs makes (at 300 episodes: (-153 - 77) / 2 = -115; a
  non-learning run stays near -190). A run that solved passes;
- names the symptoms of :mod:`lunar.reports.symptoms` when it fails;
- plays :data:`GREEDY_EPISODES` greedy episodes (seeds 0-4) with its own copy of the
  trained network and reports their mean, for the teacher to read beside the average.

The training runs in the submission's kernel, so code written to fake its history could
fake this row; the row judges code written in good faith (the unit checks' verdicts stay
out of reach, as always).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from grading.exercises import Result
from grading.kernel_client import KernelStopped
from grading.kernel_training import COLUMNS

DEFAULT_EPISODES = 300
"""At 300 episodes the reference's median average (-43) is about 150 above random play (-190): about
20 s a notebook here. ``bench/learns_budget.py`` measures how often correct code passes."""
MIN_EPISODES, MAX_EPISODES = 200, 2000
GREEDY_EPISODES = 5
ROW = "learns"
NEEDED = ("Exercise 1: q_network", "Exercise 1: target_q_network", "Exercise 1: optimizer", "Exercise 2: compute_loss")


@dataclass(frozen=True)
class Verdict:
    passed: bool
    mark: float
    message: str


def learns_verdict(history: Any, config: Any, greedy: float | None) -> Verdict:
    """The rule of this module's docstring, on a history with ``return`` and ``moving_average`` columns."""
    from lunar.reports.reference import course_reference, placement
    from lunar.reports.symptoms import diagnose

    reference, episode = course_reference(), len(history)
    band = reference.band(episode)
    average = float(history["moving_average"].iloc[-1])
    mark = (reference.band(config.num_p_av)[50] + band[10]) / 2
    passed = average >= mark or (average >= config.target_score and episode >= config.num_p_av)
    text = (f"average {average:.0f} at episode {episode}, {placement(average, band)} of the reference "
            f"({band[25]:.0f} to {band[75]:.0f}; 80%: {band[10]:.0f} to {band[90]:.0f}); pass mark {mark:.0f}")
    text += "" if greedy is None else f"; greedy: {greedy:.0f} over {GREEDY_EPISODES} episodes"
    if not passed:
        symptoms = [s.name for s in diagnose(history, config)]
        text += f"; symptoms: {', '.join(symptoms)}" if symptoms else ""
    return Verdict(passed, mark, text)


def learns_row(kernel: Any, rows: list[Any], episodes: int, seed: int, seconds: float) -> Any:
    """The "learns" row: skipped unless Exercises 1 and 2 passed, else the verdict on the kernel's training."""
    failed = [r.exercise for r in rows if r.exercise in NEEDED and r.status != "passed"]
    missing = [name for name in NEEDED if name not in {r.exercise for r in rows}]
    if failed or missing:
        return Result(ROW, "skipped", f"not trained: {', '.join(failed + missing)} did not pass")
    try:  # the kernel kept the parts as defined (snapshot, before the graded tests)
        reply = kernel.request({"op": "train", "episodes": episodes, "seed": seed}, seconds)
    except KernelStopped as error:
        why = f"ran past {seconds:g} s" if str(error) == "timeout" else str(error)
        return Result(ROW, "error", f"training stopped: {why}")
    if "error" in reply:
        error = reply["error"] if isinstance(reply["error"], dict) else {}
        return Result(ROW, "failed", f"training raised {error.get('type', 'Error')}: "
                      f"{str(error.get('message', '')).splitlines()[0][:200] if error.get('message') else ''}")
    from lunar.config import DQNConfig

    try:
        trained = kernel.decode_value(reply["ok"])
        history, greedy = received_history(kernel, trained, episodes)
        took = f"{len(history)} episodes ({float(trained['seconds']):.0f} s): "
    except KernelStopped as error:
        return Result(ROW, "error", f"the trained network could not be read: {error}")
    except Exception as error:  # noqa: BLE001 - whatever the kernel sent, one row
        return Result(ROW, "error", f"the kernel's training reply is not usable: {type(error).__name__}: {error}")
    verdict = learns_verdict(history, DQNConfig(seed=seed, num_episodes=episodes), greedy)
    notes = [str(n) for n in trained.get("notes", []) if not str(n).startswith("training your")]
    said = f" ({'; '.join(notes)[:300]})" if notes else ""  # which update path ran, when not the compiled one
    return Result(ROW, "passed" if verdict.passed else "failed", took + verdict.message + said)


def received_history(kernel: Any, trained: dict, episodes: int) -> tuple[Any, float]:
    """The kernel's episodes as a history (moving average recomputed here), and the grader's greedy mean
    of its own copy of the trained Q-network."""
    import pandas as pd

    from lunar.reports.plotting import moving_average

    columns = {name: np.asarray(trained["history"][name], np.float64).reshape(-1)
               for name in COLUMNS}
    lengths = {len(values) for values in columns.values()}
    if len(lengths) != 1 or not 0 < lengths.pop() <= episodes or not np.isfinite(columns["return"]).all():
        raise ValueError("episode columns of different lengths, none, too many, or returns not finite")
    history = pd.DataFrame(columns)
    history.insert(0, "episode", np.arange(1, len(history) + 1))
    history["moving_average"] = moving_average(history["return"].to_numpy(), 100)
    return history, greedy_mean(kernel.decode_value(kernel.describe(["q_network"], 60.0)["q_network"]))


def greedy_mean(model: Any) -> float:
    """The mean return of :data:`GREEDY_EPISODES` greedy episodes, reset seeds 0, 1, ..."""
    from lunar.envs import make_env
    from lunar.reports.evaluation import evaluate_policy

    env = make_env("LunarLander-v3")
    try:
        return float(evaluate_policy(model, env, GREEDY_EPISODES, seed=0).returns.mean())
    finally:
        env.close()
