"""The speed layer runs the course's agent_learn: the same weights as consecutive agent_learn calls."""

import numpy as np
import pytest

from lunar import DQNAgent
from lunar.fast_update import FastUpdate
from lunar.replay import unpack
from lunar.run.state import agent_arrays


def _packed(seed, n=64):
    rng = np.random.default_rng(seed)
    s = rng.normal(size=(n, 8)).astype(np.float32)
    return np.concatenate([s, rng.integers(0, 4, (n, 1)), rng.normal(size=(n, 1)),
                           rng.normal(size=(n, 8)), rng.random((n, 1)) < 0.2], axis=1).astype(np.float32)


def _same_arrays(a, b, atol=0.0):
    for x, y in zip(agent_arrays(a).values(), agent_arrays(b).values()):
        if x.dtype.kind in "fi":
            np.testing.assert_allclose(x, y, atol=atol, rtol=0)
        else:
            np.testing.assert_array_equal(x, y)


OPTIONS = [{}, {"double_dqn": True, "loss": "huber", "grad_clip_norm": 1.0}]


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("jit_compile", [False, True])
def test_fast_update_gives_the_weights_of_consecutive_agent_learn_calls(options, jit_compile):
    """Three learning steps of two mini-batches each, against six calls of the agent's own
    @tf.function agent_learn: the same loss, mean Q and every variable (XLA fuses differently:
    to float32 rounding)."""
    course = DQNAgent(8, 4, seed=2, **options)
    fast_agent = DQNAgent(8, 4, seed=2, **options)
    fast = FastUpdate(fast_agent, jit_compile=jit_compile)
    for step in range(3):
        batches = np.stack([_packed(10 * step + i) for i in range(2)])
        losses, mean_qs = [], []
        for batch in batches:  # mean Q: over the mini-batch's states, after its update
            losses.append(float(course.agent_learn(unpack(batch, 8), 0.99)))
            mean_qs.append(float(np.mean(course.q_network(batch[:, :8]).numpy())))
        result = fast.learn(batches, 0.99)
        assert result.loss == pytest.approx(np.mean(losses), rel=1e-5)
        assert result.mean_q == pytest.approx(np.mean(mean_qs), rel=1e-5)
    _same_arrays(course, fast_agent, atol=1e-6)
    assert int(fast_agent.optimizer.iterations) == 6  # one Adam step per mini-batch
    for acting, weights in zip(fast_agent.acting_weights, fast_agent.q_network.get_weights()):
        np.testing.assert_array_equal(acting, weights)  # the numpy copy that acts follows every update


def test_fast_update_without_xla_is_agent_learn_bit_for_bit():
    course, fast_agent = DQNAgent(8, 4, seed=3), DQNAgent(8, 4, seed=3)
    fast = FastUpdate(fast_agent, jit_compile=False)
    for step in range(3):
        packed = _packed(step)
        assert fast.learn(packed[np.newaxis], 0.99).loss == float(course.agent_learn(unpack(packed, 8), 0.99))
    _same_arrays(course, fast_agent)


def _train_three_times(update):
    return [update.learn(np.stack([_packed(10 * step + i) for i in range(2)]), 0.99) for step in range(3)]


def _broken(fn):
    raise TypeError("_call_flat() takes 2 positional arguments but 3 were given")  # as a changed TF might


def _wrong(fn):
    return lambda *tensors: fn(*tensors) * 0.0  # runs, but gives another answer


@pytest.mark.parametrize("private_call", [_broken, _wrong])
def test_fast_update_falls_back_to_the_public_call_and_still_trains(monkeypatch, private_call):
    import lunar.fast_update

    reference = DQNAgent(8, 4, seed=4)
    expected = _train_three_times(FastUpdate(reference))  # this TensorFlow's private call, if it checks out
    monkeypatch.setattr(lunar.fast_update, "call_without_binding", private_call)
    fallback = DQNAgent(8, 4, seed=4)
    assert _train_three_times(FastUpdate(fallback)) == expected  # same losses, mean Q...
    _same_arrays(fallback, reference)  # ... and every variable, bit for bit
    assert int(np.asarray(fallback.optimizer.iterations)) == 6  # one Adam step per batch, none repeated
