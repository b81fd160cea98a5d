"""The training loop: one episode driven directly on a scripted environment with fixed-weight
networks, the stopping rule, and end-to-end runs that learn, write and repeat themselves."""

import time
from pathlib import Path

import gymnasium as gym
import keras
import numpy as np
import pandas as pd
import pytest

from lunar.run import checkpoint as ckpt
from lunar.agent import DQNAgent
from lunar.config import DQNConfig
from lunar.envs import make_env
from lunar.fast_update import FastUpdate, LearnResult
from lunar.replay import ReplayMemory
from lunar.reports.plotting import mean_of_last
from lunar.run.state import Run, load_agent_arrays
from lunar.run.checkpoint import HISTORY_COLUMNS
from lunar.run.stopping import Budget, stop_reason, validation_score
from lunar.training import run_episode, train

ROOT = Path(__file__).resolve().parents[1]
CARTPOLE = dict(env_id="CartPole-v1", memory_size=5_000, minibatch_size=32)


class ScriptedEnv(gym.Env):
    """Observation ``[t, -t]`` at step ``t``, reward ``t`` for the step that reaches it; the
    episode ends after ``length`` steps, by termination or by a time-limit truncation."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, length: int, terminates: bool) -> None:
        self.length, self.terminates, self.actions = length, terminates, []

    def _obs(self):
        return np.array([self.t, -self.t], np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        self.actions.append(int(action))
        self.t += 1
        end = self.t == self.length
        return self._obs(), float(self.t), end and self.terminates, end and not self.terminates, {}


def _scripted_run(length, terminates, epsilon=0.0, **config):
    """A run on ScriptedEnv whose Q-network prefers action 1 everywhere (zero weights, bias [0, 1])."""
    settings = dict(num_steps_for_update=4, minibatch_size=6, memory_size=100, e_decay=0.5, e_min=0.1)
    config = DQNConfig(**{**settings, **config})
    agent = DQNAgent(2, 2, seed=0)
    weights = [np.zeros_like(w) for w in agent.q_network.get_weights()]
    weights[-1][:] = [0.0, 1.0]
    agent.q_network.set_weights(weights)
    agent.refresh_acting_weights()
    env = ScriptedEnv(length, terminates)
    return Run(config, env, agent, FastUpdate(agent, jit_compile=False), ReplayMemory(config.memory_size, 2),
               np.random.default_rng(0), epsilon, reset_seed=0)


@pytest.mark.parametrize("terminates", [True, False])
def test_run_episode_stores_each_step_with_done_only_on_a_termination(terminates):
    run = _scripted_run(length=5, terminates=terminates, minibatch_size=8)  # no update: memory stays <= 8
    row = run_episode(run)
    states, actions, rewards, next_states, done = run.memory.gather(np.arange(5))
    np.testing.assert_array_equal(states[:, 0], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(next_states[:, 0], [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(actions, [1] * 5)  # epsilon 0: argmax Q
    np.testing.assert_array_equal(rewards, [1, 2, 3, 4, 5])
    # a time-limit truncation is no terminal state: its target must still bootstrap
    np.testing.assert_array_equal(done, [0, 0, 0, 0, 1 if terminates else 0])
    assert (row["return"], row["steps"], row["total_steps"]) == (15.0, 5, 5)
    assert np.isnan(row["loss"]) and np.isnan(row["mean_q"])


def test_run_episode_learns_every_num_steps_for_update_once_memory_exceeds_a_minibatch(monkeypatch):
    run = _scripted_run(length=18, terminates=True)
    calls = []

    def spy(batches, gamma):
        calls.append((len(run.memory), batches.shape, gamma))
        return LearnResult(loss=float(len(calls)), mean_q=10.0 * len(calls))

    monkeypatch.setattr(run.update, "learn", spy)
    row = run_episode(run)
    # steps 4, 8, 12, 16; at step 4 the memory holds 4 transitions, not more than a mini-batch of 6
    assert [size for size, _, _ in calls] == [8, 12, 16]
    assert all(shape == (1, 6, 2 * 2 + 3) and gamma == run.config.gamma for _, shape, gamma in calls)
    assert (row["loss"], row["mean_q"]) == (2.0, 20.0)  # the means over the episode's updates


def test_run_episode_plays_epsilon_greedy_and_decays_epsilon_once_per_episode():
    run = _scripted_run(length=200, terminates=True, epsilon=1.0, minibatch_size=64, memory_size=1000)
    first = run_episode(run)
    assert first["epsilon"] == 1.0 and run.epsilon == 0.5  # the row keeps the epsilon it played with
    assert 70 < run.env.actions.count(0) < 130  # epsilon 1: uniform actions
    run.env.actions.clear()
    run_episode(run)
    run_episode(run)
    assert run.epsilon == 0.125
    assert run.env.actions[200:].count(0) < 50  # epsilon 0.25: mostly the greedy action 1 (~25 of 0)
    run_episode(run)
    assert run.epsilon == 0.1  # max(E_MIN, E_DECAY * epsilon)


def test_run_episode_records_the_moving_average_of_the_last_num_p_av_returns():
    run = _scripted_run(length=3, terminates=True, num_p_av=2)
    lengths = [3, 1, 2]
    for length in lengths:
        run.env.length = length
        run_episode(run)
    returns = [length * (length + 1) / 2 for length in lengths]  # 6, 1, 3
    assert [row["return"] for row in run.history] == returns
    assert [row["moving_average"] for row in run.history] == [6.0, 3.5, 2.0]
    assert [row["episode"] for row in run.history] == [1, 2, 3]


def test_learning_curve_plots_the_historys_moving_average_from_episode_one(tmp_path):
    from lunar.reports.plotting import learning_curve_png

    run = _scripted_run(length=3, terminates=True, num_p_av=2)
    for length in [3, 1, 2, 5]:
        run.env.length = length
        run_episode(run)
    history = [row["moving_average"] for row in run.history]
    plotted, png = learning_curve_png([row["return"] for row in run.history], window_size=2)
    assert png.startswith(b"\x89PNG")
    assert plotted["rolling_mean"].tolist() == history  # [6.0, 3.5, 2.0, 9.0]: the same numbers, none missing


def _lean_following_weights(network) -> list[np.ndarray]:
    """Weights for the two-hidden-layer Q-network under which argmax_a Q(s, a) pushes the cart
    toward the pole's lean (action 1 when the angle s[2] > 0): a policy that lasts tens of steps,
    a different number for each start."""
    w1, b1, w2, b2, w3, b3 = (np.zeros_like(w) for w in network.get_weights())
    w1[2, 0], w1[2, 1], w2[0, 0], w2[1, 1], w3[1, 0], w3[0, 1] = 1, -1, 1, 1, 1, 1
    return [w1, b1, w2, b2, w3, b3]


def _greedy_mean_return(network, seeds) -> float:
    """mean over the seeds of sum_t r_t, playing a_t = argmax_a Q(s_t, a) from reset(seed)."""
    env, returns = gym.make("CartPole-v1"), []
    for seed in seeds:
        state, _ = env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            q_values = network(state[None].astype(np.float32)).numpy()[0]
            state, reward, terminated, truncated, _ = env.step(int(np.argmax(q_values)))
            total, done = total + reward, terminated or truncated
        returns.append(total)
    env.close()
    return float(np.mean(returns))


class NoInterrupt:
    requested = None


def test_stop_reason_solved_before_the_cap_before_an_interrupt():
    class Interrupt:
        requested = "SIGINT"

    run = _scripted_run(length=3, terminates=True, num_p_av=1, target_score=6.0, num_episodes=1)
    assert stop_reason(run, Interrupt(), Budget()) == "interrupted"
    run_episode(run)  # return 6: the target
    assert stop_reason(run, Interrupt(), Budget()) == "solved"
    run.config = run.config.replace(target_score=7.0)
    assert stop_reason(run, Interrupt(), Budget()) == "episode_cap"
    run.config = run.config.replace(num_episodes=5)
    assert stop_reason(run, Interrupt(), Budget(steps=3)) == "step_budget"
    assert stop_reason(run, Interrupt(), Budget(steps=4)) == "interrupted"


def test_budget_stops_once_the_process_has_spent_its_cpu_seconds():
    run = _scripted_run(length=3, terminates=True, num_p_av=1, target_score=100.0, num_episodes=10)
    budget = Budget(cpu_seconds=0.05)
    assert stop_reason(run, NoInterrupt(), budget) is None
    started = time.process_time()
    while time.process_time() - started < 0.06:  # burn CPU time; sleeping would spend none
        sum(range(1000))
    assert stop_reason(run, NoInterrupt(), budget) == "time_budget"


def test_train_reports_the_cpu_time_it_spent_and_stops_on_its_cpu_budget(tmp_path):
    result = train(DQNConfig(**CARTPOLE, num_episodes=10_000), tmp_path, save_outputs=False, max_cpu_seconds=2.0)
    assert result.status == "time_budget"
    assert 2.0 <= result.cpu_seconds < 2.0 + 5.0  # it stops between episodes, once the budget is spent
    assert 0 < result.episodes < 10_000


def test_validation_score_plays_the_saved_network_greedily_from_seed_one_million():
    """validation = mean over i < n of the greedy return of the saved network from reset(seed=1,000,000 + i)."""
    config = DQNConfig(**CARTPOLE, max_num_timesteps=500, save_target_network=True)
    run = Run.start(config, make_env(config.env_id))
    run.agent.target_q_network.set_weights(_lean_following_weights(run.agent.target_q_network))
    expected = _greedy_mean_return(run.agent.target_q_network, range(1_000_000, 1_000_003))
    assert validation_score(run, episodes=3) == pytest.approx(expected)
    run.env.close()


def test_validation_test_is_taken_where_the_average_reaches_the_target_and_every_validation_every(
        monkeypatch):
    from lunar.run import stopping
    from lunar.reports.evaluation import Score

    tested = []

    def evaluate(model, env, episodes, seed):  # every validation episode returns 5
        tested.append((len(run.history), episodes, seed))
        return Score(pd.DataFrame({"return": [5.0] * episodes}))

    monkeypatch.setattr(stopping, "evaluate", evaluate)
    run = _scripted_run(length=3, terminates=True, num_p_av=2, target_score=10.0, validation_episodes=7,
                        validation_target=5.0, validation_every=4)
    returns = [0, 0, 30, 30, 30, 30, 30, 30, 0, 0, 30]  # averages 0 0 15 30 30 30 30 30 15 0 15
    verdicts = []
    for episode_return in returns:
        returns = [row["return"] for row in run.history] + [episode_return]
        run.history.append({"return": episode_return, "moving_average": mean_of_last(returns, 2)})
        verdicts.append(stop_reason(run, NoInterrupt(), Budget()))
    assert [episode for episode, _, _ in tested] == [3, 4, 8, 11]  # reached at 3 and 11; 4 and 8: every 4
    assert {(episodes, seed) for _, episodes, seed in tested} == {(7, 1_000_000)}
    assert [i + 1 for i, verdict in enumerate(verdicts) if verdict == "solved"] == [3, 4, 8, 11]
    run.config = run.config.replace(validation_target=5.5)
    assert stop_reason(run, NoInterrupt(), Budget()) is None


def test_validation_test_passes_when_the_saved_network_averages_the_target_from_seed_one_million():
    config = DQNConfig(**CARTPOLE, num_p_av=1, target_score=0.0, validation_episodes=3, save_target_network=True)
    run = Run.start(config, make_env(config.env_id))
    run.agent.target_q_network.set_weights(_lean_following_weights(run.agent.target_q_network))
    run.history.append({"return": 1.0, "moving_average": 1.0})
    expected = _greedy_mean_return(run.agent.target_q_network, range(1_000_000, 1_000_003))
    said = []
    run.config = run.config.replace(validation_target=expected)
    assert stop_reason(run, NoInterrupt(), Budget(), said.append) == "solved"
    run.config = run.config.replace(validation_target=expected + 0.01)
    assert stop_reason(run, NoInterrupt(), Budget(), said.append) is None
    assert said[-1] == f"episode 1: greedy validation {expected:.1f} on 3 episodes (< {expected + 0.01:g}): " \
                       "training on"
    run.env.close()


def test_train_with_a_validation_test_repeats_the_plain_run_until_it_stops(tmp_path):
    config = DQNConfig(**CARTPOLE, num_episodes=14, num_p_av=3, target_score=15.0, seed=4)
    plain = train(config, save_outputs=False)
    gated = train(config.replace(validation_episodes=2, validation_target=1e9), save_outputs=False)
    assert plain.solved and plain.episodes < 14, plain.history["moving_average"].tolist()
    assert gated.status == "episode_cap" and gated.episodes == 14
    columns = ["return", "steps", "epsilon", "loss", "mean_q"]
    pd.testing.assert_frame_equal(gated.history[columns].iloc[:plain.episodes], plain.history[columns])


def test_train_course_preset_repeats_the_shipped_history():
    """`python train.py --seed 0` made the shipped model. Its first 100 episodes play the same
    returns, steps and epsilons exactly; loss, mean Q and the moving average agree to 1e-6
    (another CPU may round the last bits of float32 sums differently: on such a machine the
    runs part after a few hundred episodes, see docs/reproducibility.md)."""
    shipped = pd.read_csv(ROOT / "models" / "lunar_lander_history.csv").iloc[:100]
    result = train(DQNConfig(num_episodes=100), save_outputs=False).history
    exact = ["episode", "return", "steps", "total_steps", "epsilon"]
    pd.testing.assert_frame_equal(result[exact], shipped[exact], check_exact=True, check_dtype=False)
    close = ["moving_average", "loss", "mean_q"]
    pd.testing.assert_frame_equal(result[close], shipped[close], rtol=1e-6, check_dtype=False)


def test_train_writes_model_that_reloads_with_identical_outputs(tmp_path):
    config = DQNConfig(**CARTPOLE, num_episodes=6, target_score=10.0, seed=3)
    result = train(config, tmp_path)
    assert result.solved and result.episodes <= 6
    model = keras.models.load_model(result.paths["model"], compile=False)
    states = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    agent = DQNAgent(4, 2, seed=0)
    load_agent_arrays(agent, ckpt.latest_valid(tmp_path / "checkpoints").agent)
    np.testing.assert_array_equal(model(states).numpy(), agent.q_network(states).numpy())
    history = pd.read_csv(result.paths["history"])
    assert list(history.columns) == HISTORY_COLUMNS
    assert history["episode"].tolist() == list(range(1, result.episodes + 1))
    assert result.paths["plot"].stat().st_size > 1000


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
                       memory_size=20_000, minibatch_size=64, e_decay=0.97, e_min=0.02,
                       double_dqn=True, loss="huber", num_episodes=400, num_p_av=20, target_score=195.0)
    result = train(config, tmp_path, save_outputs=False)
    assert result.solved, f"best 20-episode average {result.history['moving_average'].max():.1f}"


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
