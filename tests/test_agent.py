"""The course's agent: networks, the soft update, agent_learn against its formula, and acting."""

import numpy as np
import pytest
import tensorflow as tf

from lunar import DQNAgent
from lunar.agent import create_networks, epsilon_greedy, numpy_forward, update_target_network
from lunar.losses import compute_loss
from lunar.run.state import agent_arrays, load_agent_arrays


def _experiences(seed, n=64):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 8)).astype(np.float32), rng.integers(0, 4, n).astype(np.float32),
            rng.normal(size=n).astype(np.float32), rng.normal(size=(n, 8)).astype(np.float32),
            (rng.random(n) < 0.2).astype(np.float32))


def test_numpy_forward_matches_keras_call():
    q_network, _ = create_networks(8, 4, seed=3)
    states = np.random.default_rng(0).normal(size=(100, 8)).astype(np.float32)
    np.testing.assert_allclose(numpy_forward([np.asarray(w) for w in q_network.weights], states),
                               q_network(states).numpy(), atol=1e-5)


def test_agent_learn_is_a_tf_function_over_the_labs_steps():
    """One call: the Adam step of the course's compute_loss gradient, then the soft update, by hand."""
    agent = DQNAgent(8, 4, alpha=1e-3, tau=0.01, seed=0)
    assert isinstance(DQNAgent.agent_learn, tf.types.experimental.PolymorphicFunction)
    experiences = tuple(tf.constant(x) for x in _experiences(0))
    q_before = [w.copy() for w in agent.q_network.get_weights()]
    target_before = agent.target_q_network.get_weights()
    with tf.GradientTape() as tape:
        expected_loss = compute_loss(experiences, 0.99, agent.q_network, agent.target_q_network)
    gradients = [g.numpy() for g in tape.gradient(expected_loss, agent.q_network.trainable_variables)]

    loss = agent.agent_learn(experiences, 0.99)
    assert float(loss) == pytest.approx(float(expected_loss), rel=1e-6)
    # Adam's first step from zero moments (beta_2 = 0.999, epsilon = 1e-7, bias-corrected):
    # theta - alpha * sqrt(1 - beta_2) * g / (sqrt(1 - beta_2) * |g| + epsilon)
    root = np.sqrt(1 - 0.999)
    for after, before, g in zip(agent.q_network.get_weights(), q_before, gradients):
        np.testing.assert_allclose(after, before - 1e-3 * root * g / (root * np.abs(g) + 1e-7), atol=1e-7)
    for after_target, after_q, before_target in zip(agent.target_q_network.get_weights(),
                                                     agent.q_network.get_weights(), target_before):
        np.testing.assert_allclose(after_target, 0.01 * after_q + 0.99 * before_target, atol=1e-7)
    assert int(agent.optimizer.iterations) == 1


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


def test_agent_acts_greedily_on_the_weights_it_was_given_until_refreshed():
    agent = DQNAgent(8, 4, seed=0)
    state = np.ones(8, np.float32)
    rng = np.random.default_rng(0)
    assert agent.act(state, 0.0, rng) == int(np.argmax(agent.q_network(state[None]).numpy()))
    weights = agent.q_network.get_weights()
    weights[-1][:] = [0.0, 0.0, 0.0, 1e6]  # the Q-network now prefers action 3
    agent.q_network.set_weights(weights)
    agent.refresh_acting_weights()
    assert agent.act(state, 0.0, rng) == 3
    assert epsilon_greedy(np.array([0.0, 1.0]), 0.0, rng) == 1


def test_agent_arrays_round_trip_restores_training():
    a = DQNAgent(8, 4, seed=0)
    for step in range(3):
        a.agent_learn(_experiences(step), 0.99)
    b = DQNAgent(8, 4, seed=5)
    load_agent_arrays(b, agent_arrays(a))
    for acting, weights in zip(b.acting_weights, a.q_network.get_weights()):  # acting follows the load
        np.testing.assert_array_equal(acting, weights)
    assert float(a.agent_learn(_experiences(10), 0.99)) == float(b.agent_learn(_experiences(10), 0.99))
    for x, y in zip(agent_arrays(a).values(), agent_arrays(b).values()):
        np.testing.assert_array_equal(x, y)


def test_agent_arrays_refuse_other_shapes():
    state = agent_arrays(DQNAgent(8, 4, seed=0))
    with pytest.raises(ValueError):
        load_agent_arrays(DQNAgent(6, 4, seed=0), state)
