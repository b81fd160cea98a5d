"""Tabular Q-learning against the seeds' worked examples and value iteration's optimum."""

import math
import subprocess
import sys

import numpy as np
import pytest

from tabular import (ChainMaze, GridWorld, MarsRover, QLearningConfig, discounted_return, exponential_epsilon,
                     greedy_policy, multiplicative_epsilon, policy_evaluation, q_learning, q_learning_update,
                     success_rate, value_iteration)
from tabular import WORLDS, train
from tabular.errors import UserError
from tabular.algorithms import search_then_converge
from tabular.frozenlake import best_success_probability, exact_success_probability, make_frozenlake, parse_map
from tabular.reports import gridworld_path_excess

SEED_004_TABLE = np.array([[0.59048997, 0.6561], [0.59048961, 0.729], [0.65609989, 0.81],
                           [0.72899988, 0.9], [0.80999924, 1.0], [0.0, 0.0]])


def test_discounted_return_seed_001_trajectory_is_9():
    # s4 -a3-> s5 (0), s5 -a3-> s6 (10), s6 -a3-> s7 (0); gamma 0.9: 0 + 0.9 * 10 + 0.81 * 0
    assert discounted_return([0, 10, 0], 0.9) == pytest.approx(9.0)
    assert discounted_return([1, 1, 1], 0.5) == pytest.approx(1.75)


def test_q_learning_update_seed_001_first_update_is_4_5():
    q = np.zeros((7, 3))
    q[4] = [0, 0, 10]  # s5 (index 4): max_a' Q(s5, a') = 10
    assert q_learning_update(q, 3, 2, 0.0, 4, False, alpha=0.5, gamma=0.9) == pytest.approx(4.5)
    assert q[3, 2] == pytest.approx(4.5)


def test_q_learning_update_terminal_does_not_bootstrap():
    q = np.full((2, 2), 5.0)
    q_learning_update(q, 0, 1, 1.0, 1, True, alpha=0.5, gamma=0.9)
    assert q[0, 1] == pytest.approx(0.5 * 5 + 0.5 * 1.0)


def test_seed_001_mars_rover_trajectory_rewards():
    env = MarsRover()
    state, _ = env.reset(seed=0)
    assert state == 3  # s4
    rewards = []
    for _ in range(4):
        state, reward, terminated, _, _ = env.step(2)
        rewards.append(reward)
    assert rewards == [0, 10, 0, 0] and terminated  # right from s7 falls off


def test_epsilon_schedules_match_their_formulas():
    assert multiplicative_epsilon(1.0, 0.995, 0.01) == pytest.approx(0.995)
    assert multiplicative_epsilon(0.01, 0.995, 0.01) == 0.01
    assert exponential_epsilon(0, 1.0, 0.05, 200) == pytest.approx(1.0)
    assert exponential_epsilon(200, 1.0, 0.05, 200) == pytest.approx(0.05 + 0.95 * math.exp(-1))


def test_chain_maze_reproduces_seed_004_q_table():
    result = q_learning(ChainMaze(), WORLDS["chain"].settings(ChainMaze()))
    np.testing.assert_allclose(np.round(result.q, 2), np.round(SEED_004_TABLE, 2))


def test_chain_maze_value_iteration_gives_powers_of_gamma():
    env = ChainMaze()
    v, q = value_iteration(env.P, 6, 2, 0.9)
    np.testing.assert_allclose(v, [0.9 ** 4, 0.9 ** 3, 0.9 ** 2, 0.9, 1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(q[:5, 1], v[:5], atol=1e-12)
    np.testing.assert_allclose(q[:5, 0], [0.9 * v[max(s - 1, 0)] for s in range(5)], atol=1e-12)


@pytest.mark.parametrize("world, make", [
    ("chain", ChainMaze),
    ("mars-rover", MarsRover),
    ("mars-rover", MarsRover.course),
])
def test_q_learning_matches_value_iteration_on_deterministic_worlds(world, make):
    env = make()
    config = WORLDS[world].settings(env)
    result = q_learning(env, config)
    _, q_star = value_iteration(env.P, env.nS, env.nA, config.gamma)
    assert np.max(np.abs(result.q - q_star)) < 0.01


def test_mars_rover_course_variant_values():
    env = MarsRover.course()
    v, q = value_iteration(env.P, 6, 2, 0.5)
    np.testing.assert_allclose(v, [100, 50, 25, 12.5, 20, 40])
    np.testing.assert_allclose(q[1:5], [[50, 12.5], [25, 6.25], [12.5, 10], [6.25, 20]])


def test_mars_rover_stochastic_table_is_a_distribution():
    for env in (MarsRover(slip=0.5), MarsRover.course(misstep_prob=0.1), MarsRover(misstep_prob=0.2, slip=0.3)):
        for s in env.P:
            for a in env.P[s]:
                assert sum(p for p, *_ in env.P[s][a]) == pytest.approx(1.0)
    # the seed's random walk: from s3 under full slip, 40% left, 20% stay, 40% right
    walk = {s2: p for p, s2, _, _ in MarsRover(slip=1.0).P[2][1]}
    assert walk == pytest.approx({1: 0.4, 2: 0.2, 3: 0.4})


def test_policy_evaluation_of_optimal_policy_is_v_star():
    env = MarsRover(misstep_prob=0.1)
    v, q = value_iteration(env.P, env.nS, env.nA, 0.9)
    np.testing.assert_allclose(policy_evaluation(env.P, greedy_policy(q), env.nS, 0.9), v, atol=1e-9)


def _success_rates(map_name, slippery):
    outcome = train("frozenlake", map=map_name, slippery=slippery)
    env, steps = outcome.env, outcome.config.max_steps
    learned = success_rate(env, greedy_policy(outcome.result.q), 1000, seed=10_000, max_steps=steps)
    optimal = success_rate(env, greedy_policy(outcome.q_star), 1000, seed=10_000, max_steps=steps)
    return learned, optimal


def test_frozenlake_4x4_not_slippery_always_reaches_goal():
    learned, optimal = _success_rates("4x4", False)
    assert learned == optimal == 1.0


def test_frozenlake_4x4_slippery_within_3_points_of_optimal():
    learned, optimal = _success_rates("4x4", True)
    assert learned >= optimal - 0.03, (learned, optimal)


@pytest.mark.slow
def test_frozenlake_8x8_slippery_within_5_points_of_optimal():
    learned, optimal = _success_rates("8x8", True)
    assert learned >= optimal - 0.05, (learned, optimal)


def test_exact_success_probability_agrees_with_measured_rate():
    env = make_frozenlake("4x4", True)
    _, q = value_iteration(env.unwrapped.P, 16, 4, 0.99)
    policy = greedy_policy(q)
    measured = success_rate(env, policy, 2000, seed=0, max_steps=100)
    exact = exact_success_probability(env, policy, 100)
    assert abs(measured - exact) < 4 * math.sqrt(exact * (1 - exact) / 2000)


def test_gridworld_greedy_policy_near_shortest_path_for_every_pair():
    env = GridWorld()
    result = q_learning(env, WORLDS["gridworld"].settings(env))
    assert gridworld_path_excess(env, greedy_policy(result.q)) <= 2


def test_gridworld_value_iteration_policy_is_shortest_path():
    env = GridWorld()
    _, q = value_iteration(env.P, env.nS, env.nA, 0.9)
    assert gridworld_path_excess(env, greedy_policy(q)) == 0


def test_gridworld_rewards_follow_the_rules():
    env = GridWorld()
    s = env.encode((0, 0), (0, 2))
    (p, s2, r, done), = env.P[s][2]  # right: one step closer
    assert (s2, done) == (env.encode((0, 1), (0, 2)), False) and r == pytest.approx(-0.1 + 0.5)
    (p, s2, r, done), = env.P[s][3]  # up: the wall
    assert s2 == s and r == pytest.approx(-0.1 - 1.0)
    (p, s2, r, done), = env.P[env.encode((0, 1), (0, 2))][2]  # onto the goal
    assert done and r == pytest.approx(-0.1 + 0.5 + 10)


@pytest.mark.parametrize("env", [ChainMaze(render_mode="ansi"), MarsRover(render_mode="ansi"),
                                 GridWorld(render_mode="ansi")])
def test_worlds_render_ansi_and_rgb(env):
    env.reset(seed=1)
    assert isinstance(env.render(), str) and "\n" in env.render()
    env.render_mode = "rgb_array"
    image = env.render()
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


def test_parse_map_refuses_malformed_maps():
    assert parse_map("SFF,FHG") == ["SFF", "FHG"]
    for bad in ("", "SFF,FH", "SXF,FFG", "FFF,FFG", "SFF,FFF", "SFS,FFG"):
        with pytest.raises(UserError):
            parse_map(bad)


def test_q_learning_is_repeatable_with_a_seed():
    env = make_frozenlake("4x4", True)
    config = QLearningConfig(episodes=300, alpha=0.1, gamma=0.99, max_steps=100, seed=4)
    np.testing.assert_array_equal(q_learning(env, config).q, q_learning(env, config).q)


@pytest.mark.parametrize("args, message", [
    (["frozenlake", "--map", "9x9"], "invalid choice"),
    (["frozenlake", "--custom-map", "SFX,FFG"], "unknown cells"),
    (["frozenlake", "--custom-map", "SFF,FG"], "differ in length"),
    (["chain", "--alpha", "2"], "alpha"),
    (["chain", "--epsilon-decay", "-1"], "epsilon decay"),
    (["chain", "--epsilon-decay", "nan"], "epsilon decay"),
    (["frozenlake", "--alpha-visits", "-5"], "alpha_visits"),
    (["nowhere"], "invalid choice"),
])
def test_tabular_cli_bad_input_exits_2_with_one_line(args, message, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tabular", *args, "--output-dir", str(tmp_path / "out")]
                          if args[0] != "nowhere" else [sys.executable, "-m", "tabular", *args],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_tabular_cli_frozenlake_writes_gifs_and_compares(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tabular", "frozenlake", "--no-slippery", "--eval-episodes", "100",
                           "--output-dir", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "best achievable 1.000, value iteration's policy (gamma 0.99) 1.000, learned 1.000" in proc.stdout
    import imageio.v2 as imageio
    frames = imageio.mimread(tmp_path / "trained.gif")
    assert len(frames) == 7  # reset frame + the 6 steps of a shortest path on the 4x4 map
    training = imageio.mimread(tmp_path / "training.gif")
    assert len(training) > 3 * 7  # one episode per stage of training, not one episode


def test_demo_play_reaches_goal_with_scripted_arrow_keys():
    from tabular.live import play
    env = GridWorld()
    env.reset(seed=5)
    (ar, ac), (gr, gc) = env.decode(env.s)
    keys = (["KEY_DOWN"] * max(gr - ar, 0) + ["KEY_UP"] * max(ar - gr, 0)
            + ["KEY_RIGHT"] * max(gc - ac, 0) + ["KEY_LEFT"] * max(ac - gc, 0))
    screens = []
    total = play(GridWorld(), iter(["x"] + keys).__next__, screens.append, seed=5)
    distance = abs(ar - gr) + abs(ac - gc)
    assert "goal reached" in screens[-1]
    assert total == pytest.approx(distance * (-0.1 + 0.5) + 10)


def test_live_reward_plot_headless_saves_png(tmp_path):
    from tabular.live import LiveRewardPlot
    plot = LiveRewardPlot(tmp_path / "rewards.png", every=10)
    for i in range(50):
        plot.add(i, float(i), 1.0)
    assert plot.close() == tmp_path / "rewards.png"
    assert (tmp_path / "rewards.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tabular_train_takes_each_worlds_settings_and_refuses_other_options():
    rover = train("mars-rover", variant="course", episodes=500)
    assert (rover.config.gamma, rover.config.episodes, rover.options["variant"]) == (0.5, 500, "course")
    assert rover.max_q_error < 0.01
    assert train("mars-rover", episodes=200).config.gamma == 0.9
    lake = train("frozenlake", map="8x8", slippery=False, episodes=10)
    assert lake.config.max_steps == 100 and lake.config.alpha == 0.5  # FrozenLake-v1's own time limit
    with pytest.raises(UserError, match="'goal' is not an option of 'chain'"):
        train("chain", goal="1,1")
    with pytest.raises(UserError, match="unknown world"):
        train("nowhere")


def test_search_then_converge_is_alpha_k_over_k_plus_n():
    for alpha, k, n in ((0.1, 3000, 1), (0.1, 3000, 3000), (0.5, 10, 990), (1.0, 1, 1)):
        assert search_then_converge(alpha, k, n) == pytest.approx(alpha * k / (k + n))
    steps = [search_then_converge(0.1, 100, n) for n in range(1, 200_001)]
    assert sum(steps) > 0.1 * 100 * math.log(1000)  # grows like alpha k ln(n / k): no bound
    assert sum(s * s for s in steps) < 0.1 ** 2 * 100  # converges: below alpha^2 k


def test_best_success_probability_matches_hand_computed_cases():
    # One row "SG", slippery: any move right, down or up with 1/3 each; only "right" reaches G, and
    # "down" at the edge stays put: the best is 1 - (2/3)^h within h steps.
    lake = make_frozenlake(custom_map="SG", slippery=True)
    for h in (1, 2, 5):
        assert best_success_probability(lake, h) == pytest.approx(1 - (2 / 3) ** h)
    plain = make_frozenlake("4x4", slippery=False)  # the shortest path is 6 steps
    assert best_success_probability(plain, 5) == 0.0 and best_success_probability(plain, 6) == 1.0


@pytest.mark.parametrize("map_name", ["4x4", "8x8"])
def test_best_success_probability_bounds_every_stationary_policy(map_name):
    lake = make_frozenlake(map_name, slippery=True)
    base, best = lake.unwrapped, best_success_probability(lake, 100)
    rng = np.random.default_rng(0)
    for gamma in (0.9, 0.98, 0.99, 0.999):
        policy = greedy_policy(value_iteration(base.P, base.observation_space.n, 4, gamma)[1])
        assert exact_success_probability(lake, policy, 100) <= best + 1e-12
    for _ in range(20):
        assert exact_success_probability(lake, rng.integers(0, 4, base.observation_space.n), 100) <= best
    assert best_success_probability(lake, 100) <= best_success_probability(lake, 200)


def test_q_learning_snapshots_keep_the_q_table_of_each_stage():
    outcome = train("frozenlake", episodes=200, snapshots=10)
    assert sorted(outcome.result.snapshots) == [0] + [20 * i - 1 for i in range(1, 11)]
    first_q, first_epsilon = outcome.result.snapshots[0]
    assert first_epsilon == 1.0 and np.all(first_q == outcome.config.q_init)  # the table as it starts
    last_q, last_epsilon = outcome.result.snapshots[199]
    assert last_epsilon == outcome.result.epsilons[199] and last_q.any()


def test_q_learning_optimistic_start_fills_the_table_and_zeroes_terminal_states():
    from tabular.qlearning import QLearningConfig, q_learning

    env = make_frozenlake("4x4", True)
    result = q_learning(env, QLearningConfig(episodes=1, max_steps=100, q_init=1.0, seed=0))
    holes_and_goal = [s for s, cell in enumerate(np.asarray(env.unwrapped.desc).reshape(-1)) if cell in b"HG"]
    reached = [s for s in holes_and_goal if not np.all(result.q[s] == 1.0)]
    assert reached and all(np.all(result.q[s] == 0.0) for s in reached)  # the terminal state the episode ended in
    assert np.all(result.q <= 1.0) and np.any(result.q[0] < 1.0)  # the start's tried actions came down from 1
