"""tabular: Q-learning on the lessons' small worlds, checked against value iteration.

Stands alone (it does not import ``lunar``). Worlds: Gymnasium's FrozenLake-v1, the Mars
Rover MDP (both versions), the chain maze and the 5x5 grid world; ``tabular.train(world,
**options)`` learns one and solves it exactly (:mod:`tabular.registry`). The worlds are
registered with Gymnasium as ``lunar_kit/MarsRover-v0``, ``lunar_kit/ChainMaze-v0``, ...
(:mod:`tabular.registration`, when :mod:`tabular.registry` is imported); Taxi is Gymnasium's ``Taxi-v4``.
"""

from tabular.algorithms import (discounted_return, epsilon_greedy, exponential_epsilon, greedy_policy,
                                multiplicative_epsilon, policy_evaluation, q_learning_update, value_iteration)
from tabular.qlearning import QLearningConfig, QLearningResult, q_learning, success_rate
from tabular.registry import WORLDS, Outcome, World, train
from tabular.worlds import ChainMaze, GridWorld, MarsRover

__all__ = ["WORLDS", "ChainMaze", "GridWorld", "MarsRover", "Outcome", "QLearningConfig", "QLearningResult", "World",
           "discounted_return", "epsilon_greedy", "exponential_epsilon", "greedy_policy", "multiplicative_epsilon",
           "policy_evaluation", "q_learning", "q_learning_update", "success_rate", "train", "value_iteration"]
