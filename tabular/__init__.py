"""tabular: Q-learning on the lessons' small worlds, checked against value iteration.

Stands alone (it does not import ``lunar``). Worlds: Gymnasium's FrozenLake-v1, the Mars
Rover MDP (both versions), the chain maze and the 5x5 grid world.
"""

from tabular.algorithms import (discounted_return, epsilon_greedy, exponential_epsilon, greedy_policy,
                                multiplicative_epsilon, policy_evaluation, q_learning_update, value_iteration)
from tabular.qlearning import QLearningConfig, QLearningResult, q_learning, success_rate
from tabular.worlds import ChainMaze, GridWorld, MarsRover

__all__ = ["ChainMaze", "GridWorld", "MarsRover", "QLearningConfig", "QLearningResult", "discounted_return",
           "epsilon_greedy", "exponential_epsilon", "greedy_policy", "multiplicative_epsilon",
           "policy_evaluation", "q_learning", "q_learning_update", "success_rate", "value_iteration"]
