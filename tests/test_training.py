"""End-to-end training: it learns, it writes what it says, it repeats itself with a seed."""

import keras
import numpy as np
import pandas as pd
import pytest

from lunar import checkpoint as ckpt
from lunar.config import DQNConfig
from lunar.replay import row_columns
from lunar.training import HISTORY_COLUMNS, train

CARTPOLE = dict(env_id="CartPole-v1", memory_size=5_000, minibatch_size=32)


def test_train_writes_model_that_reloads_with_identical_outputs(tmp_path):
    config = DQNConfig(**CARTPOLE, num_episodes=6, target_score=10.0, seed=3)
    result = train(config, tmp_path)
    assert result.solved and result.episodes <= 6
    model = keras.models.load_model(result.paths["model"], compile=False)
    states = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    from lunar.agent import DQNAgent
    from lunar.checkpoint import latest_valid
    agent = DQNAgent(4, 2, seed=0)
    agent.load_weights_state(latest_valid(tmp_path / "checkpoints").agent)
    np.testing.assert_array_equal(model(states).numpy(), agent.q_network(states).numpy())
    history = pd.read_csv(result.paths["history"])
    assert list(history.columns) == HISTORY_COLUMNS
    assert history["episode"].tolist() == list(range(1, result.episodes + 1))
    assert result.paths["plot"].stat().st_size > 1000


def test_train_stores_truncated_transitions_as_not_done(tmp_path):
    # 5-step episodes end by the step cap (a truncation) before CartPole can fall over.
    config = DQNConfig(**CARTPOLE, num_episodes=8, max_num_timesteps=5, target_score=1e9)
    train(config, tmp_path)
    rows = ckpt.latest_valid(tmp_path / "checkpoints").replay["rows"]
    assert rows.shape == (40, 2 * 4 + 3)
    assert not rows[:, -1].any(), "a time-limit truncation must be stored with done = False"


def test_train_stores_terminations_as_done(tmp_path):
    config = DQNConfig(**CARTPOLE, num_episodes=4, target_score=1e9)
    result = train(config, tmp_path)
    rows = ckpt.latest_valid(tmp_path / "checkpoints").replay["rows"]
    # CartPole episodes here end by falling over: exactly one done per episode, at its last step
    assert int(rows[:, -1].sum()) == result.episodes
    ends = np.cumsum(result.history["steps"].to_numpy()) - 1
    assert rows[ends, -1].all()


def test_train_stores_n_step_returns(tmp_path):
    gamma = 0.9
    config = DQNConfig(**CARTPOLE, num_episodes=4, target_score=1e9, gamma=gamma, n_step=3)
    result = train(config, tmp_path)
    rows = ckpt.latest_valid(tmp_path / "checkpoints").replay["rows"]
    state, _, reward, next_state, done = row_columns(4)
    start = 0
    for length in result.history["steps"]:  # CartPole pays 1 per step; these episodes end by falling
        episode = rows[start:start + length]
        start += length
        # the first length-2 transitions see 3 rewards and bootstrap; the last 2 see the rest and stop
        expected = [1 + gamma + gamma ** 2] * (length - 2) + [1 + gamma, 1.0]
        np.testing.assert_allclose(episode[:, reward], expected, rtol=1e-6)
        np.testing.assert_array_equal(episode[:, done], [0.0] * (length - 3) + [1.0] * 3)
        np.testing.assert_array_equal(episode[:-3, next_state], episode[3:, state])  # s' of step t is s of t+3
    assert start == len(rows) == result.total_steps

def _mean_run_length(actions):
    changes = np.flatnonzero(np.diff(actions) != 0)
    return len(actions) / (len(changes) + 1)


def test_train_ez_greedy_holds_random_actions(tmp_path):
    # epsilon stays 1: every action is exploratory; CartPole's two actions, drawn one step
    # at a time, change on average every other step
    config = DQNConfig(**CARTPOLE, num_episodes=40, target_score=1e9, epsilon_start=1.0, e_decay=1.0)
    runs = {}
    for mu in (0.0, 1.5):
        train(config.replace(ez_greedy_mu=mu), tmp_path / str(mu))
        rows = ckpt.latest_valid(tmp_path / str(mu) / "checkpoints").replay["rows"]
        runs[mu] = _mean_run_length(rows[:, row_columns(4)[1]])
    assert 1.6 < runs[0.0] < 2.5
    assert runs[1.5] > 3.5


def test_train_same_seed_same_history(tmp_path):
    config = DQNConfig(**CARTPOLE, num_episodes=15, target_score=1e9, seed=11)
    a = train(config, tmp_path / "a").history.drop(columns="elapsed_seconds")
    b = train(config, tmp_path / "b").history.drop(columns="elapsed_seconds")
    pd.testing.assert_frame_equal(a, b)
    c = train(config.replace(seed=12), tmp_path / "c").history.drop(columns="elapsed_seconds")
    assert not a["return"].equals(c["return"])


@pytest.mark.slow
def test_train_learns_cartpole(tmp_path):
    """Learning, not just running: CartPole's 20-episode average reaches 195 (random play: ~22)."""
    config = DQNConfig(env_id="CartPole-v1", seed=0, gamma=0.99, alpha=1e-3, tau=0.01, num_steps_for_update=1,
                       memory_size=20_000, minibatch_size=64, epsilon_decay_steps=5_000, e_min=0.02,
                       double_dqn=True, loss="huber", num_episodes=400, num_p_av=20, target_score=195.0)
    result = train(config, tmp_path, save_outputs=False)
    assert result.solved, f"best 20-episode average {result.history['average_100'].max():.1f}"


@pytest.mark.parametrize("save_target", [False, True])
def test_train_saves_the_network_the_config_names(tmp_path, save_target):
    config = DQNConfig(**CARTPOLE, num_episodes=8, target_score=15.0, seed=2, save_target_network=save_target)
    result = train(config, tmp_path)
    assert result.solved
    saved = keras.models.load_model(result.paths["model"], compile=False).get_weights()
    state = ckpt.latest_valid(tmp_path / "checkpoints").agent
    prefix = "target" if save_target else "q"
    for i, w in enumerate(saved):
        np.testing.assert_array_equal(w, state[f"{prefix}/{i:03d}"])


SELECTION = dict(CARTPOLE, num_episodes=12, target_score=1e9, seed=0, eval_every=3, eval_episodes=3)


def _best(folder):
    """The best validated weights and their score, from the newest checkpoint."""
    c = ckpt.latest_valid(folder / "checkpoints")
    return [c.agent[k] for k in sorted(k for k in c.agent if k.startswith("best/"))], c.manifest["best"]


def test_train_model_selection_keeps_the_best_validated_network(tmp_path):
    from lunar.envs import make_env
    from lunar.evaluation import validation_score

    result = train(DQNConfig(**SELECTION), tmp_path / "selected")
    scores = result.history["eval_score"]
    assert scores.notna().tolist() == [episode % 3 == 0 for episode in range(1, 13)]
    weights, best = _best(tmp_path / "selected")
    assert best["score"] == scores.max() and best["episode"] == int(scores.idxmax()) + 1
    assert validation_score(weights, make_env("CartPole-v1"), 3) == best["score"]
    # model selection watches training, it does not change it
    plain = train(DQNConfig(**dict(SELECTION, eval_every=0)), tmp_path / "plain").history
    pd.testing.assert_frame_equal(result.history.drop(columns=["elapsed_seconds", "eval_score"]),
                                  plain.drop(columns=["elapsed_seconds", "eval_score"]))
    assert plain["eval_score"].isna().all()


def test_train_model_selection_survives_resume_and_is_what_is_saved(tmp_path):
    whole = train(DQNConfig(**SELECTION), tmp_path / "whole")
    train(DQNConfig(**dict(SELECTION, num_episodes=7)), tmp_path / "split")
    resumed = train(DQNConfig(**SELECTION), tmp_path / "split", resume=True, force=True)
    pd.testing.assert_frame_equal(resumed.history.drop(columns="elapsed_seconds"),
                                  whole.history.drop(columns="elapsed_seconds"))
    weights, best = _best(tmp_path / "split")
    whole_weights, whole_best = _best(tmp_path / "whole")
    assert best == whole_best
    for a, b in zip(weights, whole_weights):
        np.testing.assert_array_equal(a, b)
    # a run that counts as solved when resumed saves the best validated network, not the last one
    done = train(DQNConfig(**dict(SELECTION, num_episodes=13, target_score=-1e9)), tmp_path / "split",
                 resume=True, force=True)
    assert done.solved
    model = keras.models.load_model(done.paths["model"], compile=False)
    for a, b in zip(model.weights, weights):
        np.testing.assert_array_equal(np.asarray(a), b)
