"""What ``lunar-grade --train`` should expect of correct lab code after its episode budget.

    python bench/learns_budget.py --seeds 800-811 --episodes 300 [--jobs 2]

Trains correct lab code (the kit's ``compute_loss`` under the course's signature, and the
course's networks and Adam, passed in as a learner's) for ``--episodes`` episodes on each
seed, then plays 5 greedy episodes (seeds 0-4) with the trained network, as the grader does.
Prints one row per seed: the 100-episode moving average at the end, the reference band's
pass mark there, whether the "learns" rule of :mod:`grading.learns` passes, the
greedy mean, and the wall time; then how many seeds pass. The seeds must be ones no
decision looked at (``docs/tuning.md`` lists the spent sets).
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def one_seed(arguments: tuple[int, int]) -> dict:
    seed, episodes = arguments
    import keras

    from grading.learns import GREEDY_EPISODES, learns_verdict
    from lunar.config import DQNConfig
    from lunar.reports.evaluation import evaluate_policy
    from lunar.envs import make_env
    from lunar.losses import compute_loss
    from lunar.training import train

    keras.utils.set_random_seed(seed)
    layers = [keras.layers.Input(shape=(8,)), keras.layers.Dense(64, activation="relu"),
              keras.layers.Dense(64, activation="relu"), keras.layers.Dense(4, activation="linear")]
    q_network, target_q_network = keras.Sequential(layers), keras.Sequential(
        [keras.layers.Input(shape=(8,)), keras.layers.Dense(64, activation="relu"),
         keras.layers.Dense(64, activation="relu"), keras.layers.Dense(4, activation="linear")])
    started = time.perf_counter()
    result = train(DQNConfig(seed=seed, num_episodes=episodes), save_outputs=False, compute_loss=compute_loss,
                   q_network=q_network, target_q_network=target_q_network,
                   optimizer=keras.optimizers.Adam(learning_rate=1e-3))
    seconds = time.perf_counter() - started
    env = make_env("LunarLander-v3")
    greedy = float(evaluate_policy(q_network, env, GREEDY_EPISODES, seed=0).returns.mean())
    env.close()
    verdict = learns_verdict(result.history, DQNConfig(seed=seed, num_episodes=episodes), greedy)
    return {"seed": seed, "average": float(result.history["moving_average"].iloc[-1]), "passed": verdict.passed,
            "mark": verdict.mark, "greedy": greedy, "steps": result.total_steps, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="800-811")
    parser.add_argument("--episodes", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    low, _, high = args.seeds.partition("-")
    seeds = range(int(low), int(high or low) + 1)
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        rows = pool.map(one_seed, [(seed, args.episodes) for seed in seeds])
    print(f"| seed | average at {args.episodes} | pass mark | learns | greedy (5) | steps | wall s |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['seed']} | {row['average']:.1f} | {row['mark']:.1f} | {'yes' if row['passed'] else 'no'} | "
              f"{row['greedy']:.1f} | {row['steps']} | {row['seconds']:.1f} |")
    print(f"\n{sum(r['passed'] for r in rows)} of {len(rows)} seeds pass")


if __name__ == "__main__":
    main()
