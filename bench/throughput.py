"""Environment steps per second of the course-style loop and of the kit's lean path.

    python bench/throughput.py [--steps 20000]

Both run the course's hyperparameters on LunarLander-v3 in this one process, the
course-style loop first (see bench/course_port.py), then the kit's ``train``; the
ratio of the two is the figure that counts on a noisy machine. A per-component
table (median microseconds) follows.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from lunar.run.tfsetup import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from bench.course_port import CourseAgent, course_get_action, course_get_experiences, experience, run_course_loop  # noqa: E402
from lunar.agent import DQNAgent, epsilon_greedy  # noqa: E402
from lunar.config import DQNConfig  # noqa: E402
from lunar.envs import make_env  # noqa: E402
from lunar.fast_update import FastUpdate  # noqa: E402
from lunar.replay import ReplayMemory  # noqa: E402
from lunar.training import train  # noqa: E402


def median_us(fn, repeat: int = 300) -> float:
    for _ in range(10):
        fn()
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1e6


def components(config: DQNConfig) -> list[tuple[str, float, float]]:
    rng = np.random.default_rng(0)
    env = make_env(config.env_id)
    state, _ = env.reset(seed=0)

    def env_step():
        nonlocal state
        state, _, terminated, truncated, _ = env.step(int(rng.integers(4)))
        if terminated or truncated:
            state, _ = env.reset()

    course = CourseAgent(8, 4, config)
    lean = DQNAgent(8, 4, alpha=config.alpha, tau=config.tau, seed=0)
    fast = FastUpdate(lean)
    memory_deque: deque = deque(maxlen=config.memory_size)
    memory = ReplayMemory(config.memory_size, 8)
    for i in range(config.memory_size):
        s, s2 = rng.normal(size=8).astype(np.float32), rng.normal(size=8).astype(np.float32)
        memory_deque.append(experience(s, int(i % 4), float(rng.normal()), s2, bool(i % 50 == 0)))
        memory.add(s, i % 4, 0.0, s2, False)
    batch_course = course_get_experiences(memory_deque, config.minibatch_size)
    packed = memory.sample_packed(config.minibatch_size, rng)
    obs = rng.normal(size=8).astype(np.float32)
    soft_update = tf.function(course.update_target_network)
    lean_update = tf.function(lambda: course.update_target_network(), jit_compile=True)
    return [
        ("env step", median_us(env_step), median_us(env_step)),
        ("action selection", median_us(lambda: course_get_action(course.q_network(np.expand_dims(obs, 0)), 0.0, 4)),
         median_us(lambda: epsilon_greedy(lean.q_values(obs), 0.0, rng))),
        ("sampling a mini-batch", median_us(lambda: course_get_experiences(memory_deque, config.minibatch_size)),
         median_us(lambda: memory.sample_packed(config.minibatch_size, rng))),
        ("learn step (incl. soft update)", median_us(lambda: course.agent_learn(batch_course, config.gamma)),
         median_us(lambda: fast.learn(packed[np.newaxis], config.gamma))),
        ("target update alone", median_us(soft_update), median_us(lean_update)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20_000, help="environment steps per loop")
    parser.add_argument("--skip-components", action="store_true")
    args = parser.parse_args()
    config = DQNConfig()
    print(f"$ python bench/throughput.py --steps {args.steps}")
    print(f"{platform.platform()} | {os.cpu_count()} CPUs | Python {platform.python_version()} | "
          f"TensorFlow {tf.__version__} | course hyperparameters, {config.env_id}, seed {config.seed}")

    env = make_env(config.env_id)
    course = run_course_loop(env, config, args.steps)
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        lean = train(config, out, max_total_steps=args.steps, save_outputs=False)
        lean_seconds = time.perf_counter() - t
    course_rate = course["steps"] / course["seconds"]
    lean_rate = lean.total_steps / lean_seconds
    print(f"\n{'loop':<28}{'steps':>8}{'episodes':>10}{'seconds':>10}{'steps/s':>10}")
    print(f"{'course-style (eager)':<28}{course['steps']:>8}{course['episodes']:>10}{course['seconds']:>10.1f}"
          f"{course_rate:>10.0f}")
    print(f"{'kit lean path':<28}{lean.total_steps:>8}{lean.episodes:>10}{lean_seconds:>10.1f}{lean_rate:>10.0f}")
    print(f"ratio (lean / course): {lean_rate / course_rate:.1f}x")

    if not args.skip_components:
        print(f"\n{'component (median us)':<34}{'course-style':>14}{'kit':>10}")
        for name, a, b in components(config):
            print(f"{name:<34}{a:>14.1f}{b:>10.1f}")


if __name__ == "__main__":
    random.seed(0)
    main()
