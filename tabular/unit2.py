"""The Hugging Face Deep RL course's Unit 2: Taxi and FrozenLake 4x4 without slipping, its settings and its scores.

Unit 2 trains Q-learning on ``Taxi-v3`` for 25,000 episodes (learning rate 0.7, gamma 0.95, at
most 99 steps an episode, epsilon ``0.05 + 0.95 exp(-0.005 t)``) and scores the greedy policy
on 100 fixed reset seeds (:data:`UNIT2_SEEDS`, duplicates and all) by ``mean - std`` of the
returns, which must reach :data:`UNIT2_MARK`. Gymnasium 1.3 renamed Taxi to ``Taxi-v4`` when it
fixed the rainy and fickle-passenger options; with those off (the default) it is the course's
``Taxi-v3`` step for step.

The exact optimum: once reset, Taxi is deterministic (each ``P[s][a]`` holds one transition), so
a policy's return from a start state is one rollout through ``P``. The expected return over
Taxi's 300 start states (its uniform ``initial_state_distrib``) is computed for the learned
greedy policy and for value iteration's; in Taxi, delivering in the fewest steps is optimal for
every gamma, so value iteration's greedy policy (gamma 0.95) is the best achievable.

Unit 2's FrozenLake: ``FrozenLake-v1``, 4x4, not slippery; 10,000 episodes, learning rate 0.7,
gamma 0.95, at most 99 steps, epsilon ``0.05 + 0.95 exp(-0.0005 t)``; 100 greedy evaluation
episodes (the ice does not slip and the start is fixed, so the seeds do not matter: 0..99 here).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from tabular.qlearning import QLearningConfig

ENV_ID = "Taxi-v4"
MAX_STEPS = 99
UNIT2_MARK = 4.5
UNIT2_SEEDS = (16, 54, 165, 177, 191, 191, 120, 80, 149, 178, 48, 38, 6, 125, 174, 73, 50, 172, 100, 148,
               146, 6, 25, 40, 68, 148, 49, 167, 9, 97, 164, 176, 61, 7, 54, 55, 161, 131, 184, 51,
               170, 12, 120, 113, 95, 126, 51, 98, 36, 135, 54, 82, 45, 95, 89, 59, 95, 124, 9, 113,
               58, 85, 51, 134, 121, 169, 105, 21, 30, 11, 50, 65, 12, 43, 82, 145, 152, 97, 106, 55,
               31, 85, 38, 112, 102, 168, 123, 97, 21, 83, 158, 26, 80, 63, 5, 81, 32, 11, 28, 148)


def make_taxi() -> gym.Env:
    return gym.make(ENV_ID)


def unit2_settings(env: gym.Env) -> QLearningConfig:
    """Unit 2's: ``epsilon_t = 0.05 + (1 - 0.05) exp(-0.005 t)`` is the exponential schedule with a
    time constant of 1 / 0.005 = 200 episodes."""
    return QLearningConfig(episodes=25_000, alpha=0.7, gamma=0.95, epsilon_start=1.0, epsilon_end=0.05,
                           schedule="exponential", decay=200.0, max_steps=MAX_STEPS)


def make_frozenlake_unit2() -> gym.Env:
    return gym.make("FrozenLake-v1", map_name="4x4", is_slippery=False)


def frozenlake_unit2_settings(env: gym.Env) -> QLearningConfig:
    """``epsilon_t = 0.05 + 0.95 exp(-0.0005 t)``: the exponential schedule, time constant 2,000 episodes."""
    return QLearningConfig(episodes=10_000, alpha=0.7, gamma=0.95, epsilon_start=1.0, epsilon_end=0.05,
                           schedule="exponential", decay=2000.0, max_steps=MAX_STEPS)


FROZENLAKE_SEEDS = tuple(range(100))


def rollout_return(P: Any, policy: np.ndarray, start: int, max_steps: int = MAX_STEPS) -> float:
    """The undiscounted return of ``policy`` from ``start`` through a deterministic ``P`` table."""
    state, total = start, 0.0
    for _ in range(max_steps):
        ((probability, state, reward, terminated),) = P[state][int(policy[state])]
        total += reward
        if terminated:
            break
    return total


def start_returns(env: gym.Env, policy: np.ndarray, max_steps: int = MAX_STEPS) -> np.ndarray:
    """:func:`rollout_return` from each start state of positive probability, in state order."""
    base = env.unwrapped
    starts = np.flatnonzero(np.asarray(base.initial_state_distrib) > 0)
    return np.array([rollout_return(base.P, policy, int(s), max_steps) for s in starts])


def unit2_score(env: gym.Env, policy: np.ndarray, seeds: tuple[int, ...] = UNIT2_SEEDS,
                max_steps: int = MAX_STEPS) -> tuple[float, float]:
    """Unit 2's ``evaluate_agent``: one greedy episode per seed through the environment (its wrappers
    included); the mean and (population) standard deviation of the returns."""
    from tabular.qlearning import run_policy

    returns = [run_policy(env, policy, seed, max_steps)[0] for seed in seeds]
    return float(np.mean(returns)), float(np.std(returns))


def taxi_report(outcome: Any) -> str:
    """The learned policy against value iteration's over every start state, and Unit 2's score."""
    from tabular.algorithms import greedy_policy

    policy, optimal = greedy_policy(outcome.result.q), greedy_policy(outcome.q_star)
    learned, best = start_returns(outcome.env, policy), start_returns(outcome.env, optimal)
    mean, std = unit2_score(outcome.env, policy)
    verdict = "passes" if mean - std >= UNIT2_MARK else "does not pass"
    return (f"Expected return over Taxi's {len(best)} start states (exact, at most {MAX_STEPS} steps): learned "
            f"{learned.mean():.3f}, the optimum {best.mean():.3f} (value iteration's policy), gap "
            f"{best.mean() - learned.mean():.3f}; start states where the learned policy does worse: "
            f"{int((learned < best).sum())}\n"
            f"Unit 2's evaluation ({len(UNIT2_SEEDS)} fixed seeds): mean {mean:.2f}, std {std:.2f}, mean - std "
            f"{mean - std:.2f}: {verdict} the mark {UNIT2_MARK:g}")


def frozenlake_unit2_report(outcome: Any) -> str:
    """FrozenLake's exact report (:func:`tabular.reports.frozenlake_report`) and Unit 2's score."""
    from tabular.algorithms import greedy_policy
    from tabular.reports import frozenlake_report

    mean, std = unit2_score(outcome.env, greedy_policy(outcome.result.q), FROZENLAKE_SEEDS)
    return (f"{frozenlake_report(outcome)}\nUnit 2's evaluation ({len(FROZENLAKE_SEEDS)} episodes): mean {mean:.2f}, "
            f"std {std:.2f}, mean - std {mean - std:.2f}")
