"""The agent's lean hot path computes what the course's path computes."""

import numpy as np
import pytest

from lunar import DQNAgent
from lunar.agent import update_target_network
from lunar.networks import create_networks, numpy_forward


def _packed(seed, n=64):
    rng = np.random.default_rng(seed)
    s = rng.normal(size=(n, 8)).astype(np.float32)
    return np.concatenate([s, rng.integers(0, 4, (n, 1)), rng.normal(size=(n, 1)),
                           rng.normal(size=(n, 8)), rng.random((n, 1)) < 0.2], axis=1).astype(np.float32)


def test_numpy_forward_matches_keras_call():
    q_network, _ = create_networks(8, 4, seed=3)
    states = np.random.default_rng(0).normal(size=(100, 8)).astype(np.float32)
    np.testing.assert_allclose(numpy_forward([np.asarray(w) for w in q_network.weights], states),
                               q_network(states).numpy(), atol=1e-5)


@pytest.mark.parametrize("options", [{}, {"double_dqn": True, "loss": "huber", "grad_clip_norm": 1.0}])
def test_lean_learn_equals_course_agent_learn(options):
    lean = DQNAgent(8, 4, seed=1, batch_size=64, **options)
    course = DQNAgent(8, 4, seed=1, batch_size=64, jit_compile=False, **options)
    for step in range(5):
        packed = _packed(step)
        loss_lean, _ = lean.learn(packed, 0.995)
        experiences = (packed[:, :8], packed[:, 8], packed[:, 9], packed[:, 10:18], packed[:, 18])
        loss_course = float(course.agent_learn(experiences, 0.995))
        assert loss_lean == pytest.approx(loss_course, rel=1e-5)
    for a, b in zip(lean.q_network.get_weights(), course.q_network.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    for a, b in zip(lean.target_q_network.get_weights(), course.target_q_network.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    # the numpy copy used for acting follows the network after every update
    for a, b in zip(lean.acting_weights, lean.q_network.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_update_target_network_polyak_formula():
    q, target = create_networks(4, 2, seed=0)
    target.set_weights([w + 1.0 for w in target.get_weights()])
    before_q, before_t = q.get_weights(), target.get_weights()
    update_target_network(q, target, 0.25)
    for after, w, t in zip(target.get_weights(), before_q, before_t):
        np.testing.assert_allclose(after, 0.25 * w + 0.75 * t, atol=1e-7)
    update_target_network(q, target, 1.0)  # tau = 1 is a hard copy
    for after, w in zip(target.get_weights(), before_q):
        np.testing.assert_allclose(after, w, atol=1e-7)


def test_agent_weights_state_round_trip_restores_training():
    a = DQNAgent(8, 4, seed=0, batch_size=64)
    for step in range(3):
        a.learn(_packed(step), 0.99)
    b = DQNAgent(8, 4, seed=5, batch_size=64)
    b.load_weights_state(a.weights_state())
    la, _ = a.learn(_packed(10), 0.99)
    lb, _ = b.learn(_packed(10), 0.99)
    assert la == lb
    for x, y in zip(a.weights_state().values(), b.weights_state().values()):
        np.testing.assert_array_equal(x, y)


def test_agent_weights_state_refuses_other_shapes():
    state = DQNAgent(8, 4, seed=0).weights_state()
    with pytest.raises(ValueError):
        DQNAgent(6, 4, seed=0).load_weights_state(state)


def test_learn_many_equals_consecutive_learn_calls():
    one = DQNAgent(8, 4, seed=2, batch_size=64, double_dqn=True)
    many = DQNAgent(8, 4, seed=2, batch_size=64, double_dqn=True)
    batches = np.stack([_packed(i) for i in range(4)])
    losses = [one.learn(b, 0.99)[0] for b in batches]
    loss, _ = many.learn_many(batches, 0.99)
    assert loss == pytest.approx(np.mean(losses), rel=1e-5)
    for a, b in zip(one.weights_state().values(), many.weights_state().values()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_learn_many_direct_call_equals_public_call():
    direct = DQNAgent(8, 4, seed=4, batch_size=64)
    public = DQNAgent(8, 4, seed=4, batch_size=64)
    public.direct_call = False
    for step in range(3):
        batches = np.stack([_packed(10 * step + i) for i in range(2)])
        assert direct.learn_many(batches, 0.99) == public.learn_many(batches, 0.99)
    for a, b in zip(direct.weights_state().values(), public.weights_state().values()):
        np.testing.assert_array_equal(a, b)
    # the direct path was taken (a wrapper, not TensorFlow's ConcreteFunction) on this TensorFlow
    assert type(direct._learn_many_fns[2]) is not type(public._learn_many_fns[2])
