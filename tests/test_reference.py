"""The course preset's reference curve: what it records, which runs it matches, and how a run is placed in it."""

import numpy as np
import pandas as pd

from lunar.config import DQNConfig
from lunar.reports.reference import Reference, course_reference, judgement, matches, summary_line


def _reference():
    ramp = np.linspace(-200, 200, 500)
    return Reference(list(range(12)), "cmd", {10: ramp - 60, 25: ramp - 30, 50: ramp, 75: ramp + 30, 90: ramp + 60},
                     [400, 450])


def test_reference_matches_the_course_preset_with_any_seed_and_episode_cap_only():
    assert matches(DQNConfig(seed=12, num_episodes=300))
    assert not matches(DQNConfig(gamma=0.99)) and not matches(DQNConfig(hidden_units=128))
    assert summary_line(pd.DataFrame({"moving_average": [1.0]}), DQNConfig(alpha=1e-4)).startswith(
        "no reference curve matches")


def test_reference_judgement_places_an_average_in_its_band():
    reference = _reference()
    middle = reference.band(250)[50]
    assert "inside the middle half" in judgement(middle, 250, reference)
    assert "inside the middle 80%" in judgement(middle + 45, 250, reference)
    assert "below the bottom tenth" in judgement(middle - 100, 250, reference)
    assert "above the top tenth" in judgement(middle + 100, 250, reference)
    assert reference.band(10_000) == reference.band(500)  # past its end: its last episode


def test_course_reference_file_states_its_seeds_and_command_and_is_ordered():
    reference = course_reference()
    assert len(reference.seeds) >= 10 and min(reference.seeds) >= 700  # seeds no decision looked at
    assert "lunar-sweep" in reference.command and "configs/course.toml" in reference.command
    p = reference.percentiles
    assert all(np.all(p[a] <= p[b]) for a, b in ((10, 25), (25, 50), (50, 75), (75, 90)))
    assert p[50][0] < 0 < p[50][-1]  # the median learns: from random play's average to a positive one
    assert len(reference.solved_at) >= len(reference.seeds) // 2
