"""How close Q-learning comes to the best achievable success on slippery FrozenLake, for one seed.

The yardstick is exact: the highest probability of reaching the goal within the time limit
over all policies (finite-horizon dynamic programming on Gymnasium's ``P`` table), beside
the exact success of the learned greedy policy. Used by the slow test on three seeds and by
``bench/frozenlake_optimum.py`` on ten.
"""

from __future__ import annotations


def learned_and_best(map_name: str, seed: int) -> tuple[float, float]:
    """``(learned, best)``: the learned greedy policy's exact success and the best achievable one."""
    from tabular.registry import train
    from tabular.algorithms import greedy_policy
    from tabular.frozenlake import best_success_probability, exact_success_probability

    outcome = train("frozenlake", map=map_name, slippery=True, seed=seed)
    horizon = outcome.config.max_steps
    return (exact_success_probability(outcome.env, greedy_policy(outcome.result.q), horizon),
            best_success_probability(outcome.env, horizon))
