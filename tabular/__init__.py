"""tabular: Q-learning on the lessons' small worlds, checked against value iteration.

Stands alone (it does not import ``lunar``). Worlds: Gymnasium's FrozenLake-v1, the Mars
Rover MDP (both versions), the chain maze and the 5x5 grid world.
"""

from tabular.algorithms import (discounted_return, epsilon_greedy, exponential_epsilon, greedy_policy,
                                multiplicative_epsilon, policy_evaluation, q_learning_update, value_iteration)
from tabular.qlearning import QLearningConfig, QLearningResult, q_learning, success_rate
from tabular.worlds import ChainMaze, GridWorld, MarsRover


def train(world: str, **options):
    """Q-learning on a world (``"frozenlake"``, ``"mars-rover"``, ``"chain"``, ``"gridworld"``)
    with the command line's options as keywords (``episodes=``, ``alpha=``, ``gamma=``,
    ``seed=``, ``map=``, ``slippery=``, ``variant=``...). Returns a
    :class:`tabular.cli.Outcome`: ``result.q``, ``history`` (a DataFrame per episode),
    ``v_star``, ``q_star``, ``max_q_error``."""
    from tabular.cli import build_parser, run_world

    args = build_parser().parse_args([world])
    for key, value in options.items():
        if not hasattr(args, key):
            raise TypeError(f"train() got an unexpected keyword argument {key!r}")
        setattr(args, key, value)
    return run_world(world, args)

__all__ = ["ChainMaze", "GridWorld", "MarsRover", "QLearningConfig", "QLearningResult", "discounted_return",
           "epsilon_greedy", "exponential_epsilon", "greedy_policy", "multiplicative_epsilon",
           "policy_evaluation", "q_learning", "train", "q_learning_update", "success_rate", "value_iteration"]
