"""Q-learning on slippery FrozenLake reaches the best achievable success on every seed.

The yardstick is exact (:mod:`tabular.optimum`). Seeds 0-9 were not used to choose the
settings (seeds 100-119 were). This slow test runs seeds 0-2; ``python bench/frozenlake_optimum.py``
runs all ten and records them in ``bench/results/frozenlake_optimum.md``. Two processes share the work.
"""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from tabular.optimum import learned_and_best

SEEDS = range(3)


@pytest.mark.slow
@pytest.mark.parametrize("map_name", ["4x4", "8x8"])
def test_frozenlake_q_learning_within_0_02_of_best_achievable_on_three_seeds(map_name):
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(learned_and_best, [map_name] * len(SEEDS), SEEDS))
    gaps = {seed: round(best - learned, 4) for seed, (learned, best) in zip(SEEDS, results)}
    print(map_name, "learned:", [round(learned, 3) for learned, _ in results], "best:", round(results[0][1], 3))
    assert all(gap <= 0.02 for gap in gaps.values()), f"gap to the best achievable success per seed: {gaps}"


def test_frozenlake_4x4_seed_11_within_0_02_of_best_achievable():
    """The seed that stopped at 0.669 against 0.744 with Q starting at 0: its top-right states, tried
    mostly while epsilon was high, kept values built from those first episodes' targets."""
    learned, best = learned_and_best("4x4", 11)
    assert best - learned <= 0.02, (learned, best)
