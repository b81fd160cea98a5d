"""Named symptoms, each from a crafted history that shows it, none from healthy ones."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lunar.run.checkpoint import HISTORY_COLUMNS
from lunar.config import DQNConfig
from lunar.reports.plotting import moving_average
from lunar.reports.symptoms import diagnose

ROOT = Path(__file__).resolve().parents[1]
CONFIG = DQNConfig()
EPISODES = 600


def _history(returns=None, steps=None, epsilon=None, loss=None, mean_q=None):
    """A history of the course preset, healthy unless told otherwise: the average rises from -200 to 200."""
    n = EPISODES if returns is None else len(returns)
    returns = np.linspace(-200, 230, n) if returns is None else np.asarray(returns, float)
    columns = {"episode": np.arange(1, n + 1), "return": returns,
               "steps": np.full(n, 300) if steps is None else steps,
               "epsilon": np.maximum(0.01, 0.995 ** np.arange(n)) if epsilon is None else epsilon,
               "moving_average": moving_average(returns, CONFIG.num_p_av),
               "loss": np.full(n, 20.0) if loss is None else loss, "mean_q": np.full(n, 30.0) if mean_q is None else mean_q}
    columns["total_steps"], columns["elapsed_seconds"] = np.cumsum(columns["steps"]), np.arange(n) * 0.1
    return pd.DataFrame(columns)[HISTORY_COLUMNS]


def test_symptoms_none_in_a_healthy_history_nor_in_the_shipped_run():
    assert diagnose(_history(), CONFIG) == []
    assert diagnose(pd.read_csv(ROOT / "models" / "lunar_lander_history.csv"), CONFIG) == []


@pytest.mark.parametrize("change, name", [
    (dict(steps=np.r_[np.full(EPISODES - 50, 300), np.full(50, 1000)]), "hovering until the time limit"),
    (dict(mean_q=np.geomspace(1, 1e5, EPISODES)), "Q-values diverging"),
    (dict(loss=np.geomspace(1, 1e4, EPISODES)), "loss exploding"),
    (dict(returns=np.r_[np.full(300, -200.0), np.linspace(-200, 230, EPISODES - 300)],
          epsilon=np.maximum(0.01, 0.98 ** np.arange(EPISODES))), "epsilon at its floor before the average rose"),
    (dict(returns=np.random.default_rng(0).normal(-180, 40, EPISODES)), "no learning"),
    (dict(returns=np.r_[np.linspace(-200, 150, 400), np.full(EPISODES - 400, -190.0)]),
     "the average collapsed after it rose"),
])
def test_symptoms_each_named_from_a_history_that_shows_it(change, name):
    found = diagnose(_history(**change), CONFIG)
    assert [s.name for s in found].count(name) == 1, [s.line() for s in found]
    assert all(s.evidence and s.check for s in found)


def test_symptoms_not_judged_before_one_window_of_episodes():
    short = _history().iloc[:50]
    assert diagnose(short, CONFIG) == []


def test_symptoms_no_early_epsilon_floor_for_a_run_that_reached_the_target():
    n = 230  # a fast run (the fast preset before issue 29, seed 0): epsilon at its floor at episode 104, solved at 230
    returns = np.r_[np.full(100, -200.0), np.full(n - 100, 250.0)]
    history = _history(returns=np.r_[returns, np.full(EPISODES - n, 250.0)],
                       epsilon=np.maximum(0.01, 0.956 ** np.arange(EPISODES))).iloc[:n]
    assert history["moving_average"].iloc[-1] >= CONFIG.target_score
    assert "epsilon at its floor before the average rose" not in [s.name for s in diagnose(history, CONFIG)]


def _averaging(levels, episodes_each=150):
    """Returns held at each of ``levels`` in turn: their 100-episode average walks through the levels."""
    return np.repeat(np.asarray(levels, float), episodes_each)


def test_symptoms_name_a_run_that_rises_and_falls_back_more_than_once():
    """The fast preset's slow seed of issue 37: 160-180 by episode 300, then 182, 120, 58, 188, 157."""
    found = diagnose(_history(returns=_averaging([-200, 170, 182, 120, 58, 188, 157, 120, 230])), CONFIG)
    assert [s.name for s in found] == ["the average rises and falls back"], [s.line() for s in found]
    assert "fell 2 times" in found[0].evidence, found[0].evidence


@pytest.mark.parametrize("levels", [[-200, 100, 60, 230], [-200, 150, 120, 140, 110, 230]])
def test_symptoms_quiet_on_one_fall_and_on_small_wobbles(levels):
    history = _history(returns=_averaging(levels))
    assert "the average rises and falls back" not in [s.name for s in diagnose(history, CONFIG)]


def test_symptoms_quiet_on_a_healthy_fast_run():
    """``python train.py --config configs/fast.toml --seed 0``'s history (tests/data/fast_seed0_history.csv)."""
    from lunar.config import load_toml

    fast = DQNConfig(**load_toml(ROOT / "configs" / "fast.toml"))
    history = pd.read_csv(ROOT / "tests" / "data" / "fast_seed0_history.csv")
    assert diagnose(history, fast) == []
