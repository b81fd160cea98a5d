"""The lessons' worlds as Gymnasium environments: registered ids, specs, time limits, the checker, wrappers."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import tabular
from tabular.qlearning import QLearningConfig, q_learning
from tabular.worlds import ChainMaze

IDS = {"lunar_kit/MarsRover-v0": 50, "lunar_kit/MarsRoverCourse-v0": 50, "lunar_kit/ChainMaze-v0": 100,
       "lunar_kit/GridWorld-v0": 50, "Taxi-v4": 200, "FrozenLake-v1": 100}


@pytest.mark.parametrize("env_id, steps", IDS.items())
def test_registered_world_has_a_spec_a_time_limit_and_passes_the_checker(env_id, steps):
    env = gym.make(env_id)
    assert env.spec.id == env_id and env.spec.max_episode_steps == steps
    assert isinstance(env, gym.wrappers.TimeLimit)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any of the checker's warnings fails the test too
        check_env(env.unwrapped)


def test_registered_worlds_are_what_tabular_trains():
    for world, env_id in (("chain", "lunar_kit/ChainMaze-v0"), ("gridworld", "lunar_kit/GridWorld-v0"),
                          ("mars-rover", "lunar_kit/MarsRover-v0"), ("taxi", "Taxi-v4")):
        assert tabular.WORLDS[world].make(**tabular.WORLDS[world].options).spec.id == env_id


class _CountingWrapper(gym.Wrapper):
    def __init__(self, env):
        super().__init__(env)
        self.steps = 0

    def step(self, action):
        self.steps += 1
        return super().step(action)


def test_q_learning_steps_through_the_wrappers_with_the_same_result():
    config = QLearningConfig(episodes=200, max_steps=100, seed=3)
    wrapped = _CountingWrapper(gym.make("lunar_kit/ChainMaze-v0"))
    through = q_learning(wrapped, config)
    bare = q_learning(ChainMaze(6), config)
    assert wrapped.steps == sum(through.steps)  # every step went through the wrapper
    np.testing.assert_array_equal(through.q, bare.q)
    assert through.returns == bare.returns


def test_q_learning_episode_ends_at_the_wrappers_time_limit():
    env = gym.wrappers.TimeLimit(ChainMaze(6), max_episode_steps=3)
    result = q_learning(env, QLearningConfig(episodes=20, max_steps=100, epsilon_start=1.0, epsilon_end=1.0,
                                             schedule="constant", seed=0))
    assert max(result.steps) <= 3


def test_reports_take_the_wrapped_environments_that_train_returns():
    from tabular.algorithms import greedy_policy
    from tabular.reports import gridworld_path_excess, gridworld_policy

    grid = tabular.train("gridworld", episodes=10)
    policy = greedy_policy(grid.result.q)
    assert gridworld_policy(grid.env, policy, (2, 2)).count("G") == 1
    assert gridworld_path_excess(grid.env, policy) >= 0
