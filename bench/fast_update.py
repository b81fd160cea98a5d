"""What each trick of lunar/fast_update.py saves: microseconds per learning step, median.

    python bench/fast_update.py [--calls 2000]

For the course preset (one mini-batch of 64 per learning step, 64 units) and the fast preset
(two mini-batches of 32, 128 units, Huber loss, Double DQN, clipping), in this one process:

- the lab's ``@tf.function`` ``agent_learn``, once per mini-batch, then the Q-network's weights
  copied to numpy for acting (what the loop needs after every learning step);
- :class:`lunar.fast_update.FastUpdate` without XLA, with XLA through TensorFlow's public call,
  with one output tensor per weight instead of one flat array, and as the kit runs it.
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
from lunar.fast_update import FastUpdate, LearnResult  # noqa: E402
from lunar.replay import unpack  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


class SeparateOutputs(FastUpdate):
    """The update without :class:`lunar.fast_update.FlatOutput`: the loss and mean Q, then each
    Q-network weight as its own output tensor, each copied to numpy on its own (XLA and the private
    call as the kit's)."""

    def steps(self, batches, gamma):
        losses, mean_qs = [], []
        for g in range(batches.shape[0]):
            experiences = unpack(batches[g], self.agent.state_size)
            losses.append(self.agent_learn(experiences, gamma))
            mean_qs.append(tf.reduce_mean(self.agent.q_network(experiences[0])))
        means = tf.stack([tf.reduce_mean(tf.stack(losses)), tf.reduce_mean(tf.stack(mean_qs))])
        return [means] + [v.value for v in self.agent.q_network.weights]

    def learn_separately(self, batches, gamma):
        args = (tf.constant(batches, tf.float32), self._gamma_tensor(gamma))
        if not self.calls:
            self.calls[0] = fast_update.call_without_binding(tf.function(
                self.steps, jit_compile=True, autograph=False).get_concrete_function(*args))
        means, *self.agent.acting_weights = [t.numpy() for t in self.calls[0](*args)]
        return LearnResult(float(means[0]), float(means[1]))


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

    def fast(jit_compile=True, private=True, cls=FastUpdate):
        def make():
            original = fast_update.call_without_binding
            if not private:
                fast_update.call_without_binding = refuse
            update = cls(agent_for(config), jit_compile=jit_compile)
            learn = update.learn_separately if cls is SeparateOutputs else update.learn

            def step(batches):
                learn(batches, config.gamma)
                fast_update.call_without_binding = original
            return step
        return make

    return {"lab's agent_learn per mini-batch, weights to numpy": lab_agent_learn,
            "FastUpdate, tf.function without XLA": fast(jit_compile=False),
            "FastUpdate, XLA, public call": fast(private=False),
            "FastUpdate, XLA, one output per weight": fast(cls=SeparateOutputs),
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
