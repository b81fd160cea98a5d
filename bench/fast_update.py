"""What each trick of lunar/fast_update.py saves: microseconds per learning step, median.

    python bench/fast_update.py [--calls 2000]

For the course preset (one mini-batch of 64 per learning step, 64 units) and the fast preset
(two mini-batches of 32, 128 units, Huber loss, Double DQN, clipping), in this one process:

- the lab's ``@tf.function`` ``agent_learn``, once per mini-batch, then the Q-network's weights
  copied to numpy for acting (what the loop needs after every learning step);
- :class:`lunar.fast_update.FastUpdate` without XLA, with XLA through TensorFlow's public call,
  and as the kit runs it (XLA, the private call).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from lunar.run.tfsetup import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import lunar.fast_update as fast_update  # noqa: E402
from lunar.agent import DQNAgent  # noqa: E402
from lunar.config import DQNConfig, load_toml  # noqa: E402
from lunar.fast_update import FastUpdate  # noqa: E402
from lunar.replay import unpack  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def refuse(fn):
    raise TypeError("the private call is off for this variant: FastUpdate falls back to the public one")


def agent_for(config: DQNConfig) -> DQNAgent:
    return DQNAgent.from_config(config, 8, 4)


def batches_for(config: DQNConfig, rng: np.random.Generator) -> np.ndarray:
    n, k = config.minibatch_size, config.gradient_steps
    packed = np.concatenate([rng.normal(size=(k, n, 8)), rng.integers(0, 4, (k, n, 1)), rng.normal(size=(k, n, 1)),
                             rng.normal(size=(k, n, 8)), rng.random((k, n, 1)) < 0.02], axis=2)
    return packed.astype(np.float32)


def median_us(step, batches: list[np.ndarray]) -> float:
    for b in batches[:50]:
        step(b)
    samples = []
    for b in batches:
        start = time.perf_counter()
        step(b)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def variants(config: DQNConfig) -> dict:
    def lab_agent_learn():
        agent = agent_for(config)

        def step(batches):
            for b in batches:
                agent.agent_learn(unpack(tf.constant(b), 8), config.gamma)
            agent.refresh_acting_weights()
        return step

    def fast(jit_compile=True, private=True):
        def make():
            original = fast_update.call_without_binding
            if not private:
                fast_update.call_without_binding = refuse
            update = FastUpdate(agent_for(config), jit_compile=jit_compile)

            def step(batches):
                update.learn(batches, config.gamma)
                fast_update.call_without_binding = original
            return step
        return make

    return {"lab's agent_learn per mini-batch, weights to numpy": lab_agent_learn,
            "FastUpdate, tf.function without XLA": fast(jit_compile=False),
            "FastUpdate, XLA, public call": fast(private=False),
            "FastUpdate as the kit runs it": fast()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="learning steps timed per variant")
    args = parser.parse_args()
    print(f"$ python bench/fast_update.py --calls {args.calls}")
    print(f"{os.cpu_count()} CPUs | TensorFlow {tf.__version__}")
    presets = {"course": DQNConfig(), "fast": DQNConfig(**load_toml(ROOT / "configs" / "fast.toml"))}
    print("\n| variant | " + " | ".join(f"{name} preset (us)" for name in presets) + " |")
    print("|---|" + "---:|" * len(presets))
    rng = np.random.default_rng(0)
    data = {name: [batches_for(c, rng) for _ in range(args.calls)] for name, c in presets.items()}
    rows = {}
    for name, config in presets.items():
        for label, make in variants(config).items():
            rows.setdefault(label, {})[name] = median_us(make(), data[name])
    for label, times in rows.items():
        print(f"| {label} | " + " | ".join(f"{times[name]:.0f}" for name in presets) + " |")


if __name__ == "__main__":
    main()
