"""The Deep RL course's Unit 2 (Taxi; FrozenLake 4x4 without slipping): exact returns, the optimum, the course's
mark, the export."""

import json
from collections import deque

import numpy as np
import pytest

import tabular
from tabular.algorithms import greedy_policy
from tabular.cli import main
from tabular.unit2 import FROZENLAKE_SEEDS, UNIT2_MARK, UNIT2_SEEDS, make_taxi, rollout_return, start_returns, unit2_score, \
    unit2_settings


@pytest.fixture(scope="module")
def taxi():
    return tabular.train("taxi")


def _fewest_steps(P, start):
    """Breadth-first search over the deterministic P table: steps to a successful drop-off."""
    seen, todo = {start}, deque([(start, 0)])
    while todo:
        state, steps = todo.popleft()
        for action in range(6):
            ((_, nxt, reward, terminated),) = P[state][action]
            if terminated:
                return steps + 1
            if nxt not in seen:
                seen.add(nxt)
                todo.append((nxt, steps + 1))
    raise AssertionError("no way to deliver")


def test_taxi_unit2_epsilon_is_the_courses_formula():
    config = unit2_settings(make_taxi())
    for t in (1, 10, 200, 1000):
        assert config.epsilon(t, 0.0) == pytest.approx(0.05 + 0.95 * np.exp(-0.005 * t))
    assert (config.episodes, config.alpha, config.gamma, config.max_steps) == (25_000, 0.7, 0.95, 99)


def test_taxi_rollout_through_P_is_what_stepping_the_environment_gives():
    env = make_taxi()
    policy = np.random.default_rng(0).integers(0, 6, env.unwrapped.observation_space.n)
    for seed in (0, 1, 2, 16):
        state, _ = env.reset(seed=seed)
        start, total = state, 0.0
        for _ in range(99):
            state, reward, terminated, truncated, _ = env.step(int(policy[state]))
            total += reward
            if terminated or truncated:
                break
        assert rollout_return(env.unwrapped.P, policy, start) == total


def test_taxi_value_iterations_policy_delivers_in_the_fewest_steps_from_every_start(taxi):
    P = taxi.env.unwrapped.P
    starts = np.flatnonzero(taxi.env.unwrapped.initial_state_distrib > 0)
    best = start_returns(taxi.env, greedy_policy(taxi.q_star))
    assert len(starts) == 300
    np.testing.assert_array_equal(best, [21 - _fewest_steps(P, int(s)) for s in starts])  # -1 a step, +20 at the end


def test_taxi_learns_to_pass_the_unit2_mark_close_to_the_optimum(taxi):
    learned = start_returns(taxi.env, greedy_policy(taxi.result.q)).mean()
    best = start_returns(taxi.env, greedy_policy(taxi.q_star)).mean()
    mean, std = unit2_score(taxi.env, greedy_policy(taxi.result.q))
    assert mean - std >= UNIT2_MARK and best - learned < 0.2, (mean, std, learned, best)
    assert len(UNIT2_SEEDS) == 100


def test_taxi_export_is_json_a_card_the_hub_reads_and_no_pickle(tmp_path, taxi):
    from tabular.cli import export_unit2

    folder = tmp_path / "taxi"
    export_unit2(taxi, folder)  # what taxi --export DIR writes (the command itself: frozenlake-unit2's test)
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "q-table.json", "results.json"]
    model = json.loads((folder / "q-table.json").read_text())
    assert np.array(model["qtable"]).shape == (500, 6) and model["eval_seed"] == list(UNIT2_SEEDS)
    assert model["hyperparameters"]["alpha"] == 0.7 and model["max_steps"] == 99
    results = json.loads((folder / "results.json").read_text())
    ModelCard = pytest.importorskip("huggingface_hub").ModelCard
    (result,) = ModelCard.load(folder / "README.md").data.eval_results
    assert result.dataset_type == "Taxi-v3" and \
        result.metric_value == f"{results['mean_reward']:.2f} +/- {results['std_reward']:.2f}"


def test_frozenlake_unit2_learns_the_shortest_path_and_exports_under_the_courses_name(tmp_path, capsys):
    lake = tabular.train("frozenlake-unit2")
    assert (lake.config.episodes, lake.config.alpha, lake.config.gamma) == (10_000, 0.7, 0.95)
    assert lake.config.epsilon(2000, 0.0) == pytest.approx(0.05 + 0.95 * np.exp(-0.0005 * 2000))
    assert unit2_score(lake.env, greedy_policy(lake.result.q), FROZENLAKE_SEEDS) == (1.0, 0.0)
    folder = tmp_path / "lake"
    assert main(["frozenlake-unit2", "--export", str(folder), "--output-dir", str(tmp_path / "run")]) == 0
    results = json.loads((folder / "results.json").read_text())
    assert results["env_id"] == "FrozenLake-v1-4x4-no_slippery" and results["mean_minus_std"] == 1.0
    model = json.loads((folder / "q-table.json").read_text())
    assert model["env_kwargs"] == {"map_name": "4x4", "is_slippery": False} and np.array(model["qtable"]).shape == (16, 4)


@pytest.mark.parametrize("flag", ["--export", "--output-dir"])
def test_unit2_empty_folder_is_refused_in_one_line_writing_nothing(tmp_path, monkeypatch, capsys, flag):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        main(["frozenlake-unit2", flag, ""])
    assert stopped.value.code == 2 and "must not be empty" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
