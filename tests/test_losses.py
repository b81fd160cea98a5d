"""The loss: the kit's against the course's literal code, and the variants against numpy."""

import numpy as np
import pytest
import tensorflow as tf

from lunar import compute_loss, create_networks, q_learning_loss
from tests.learners import course_compute_loss


def _batch(seed, n=64, state_size=8, n_actions=4):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, state_size)).astype(np.float32),
            rng.integers(0, n_actions, n).astype(np.float32),
            rng.normal(size=n).astype(np.float32) * 10,
            rng.normal(size=(n, state_size)).astype(np.float32),
            (rng.random(n) < 0.3).astype(np.float32))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_compute_loss_equals_course_literal_code_on_keras_networks(seed):
    q_network, target_q_network = create_networks(8, 4, seed=seed)
    target_q_network.set_weights([w * 1.5 for w in target_q_network.get_weights()])
    batch = _batch(seed)
    ours = float(compute_loss(batch, 0.995, q_network, target_q_network))
    course = float(course_compute_loss(batch, 0.995, q_network, target_q_network))
    assert ours == pytest.approx(course, rel=1e-6)


def test_q_learning_loss_double_dqn_and_huber_match_numpy():
    rng = np.random.default_rng(4)
    q_now, q_next_online, q_next_target = (rng.normal(size=(64, 4)).astype(np.float32) * 3 for _ in range(3))
    s, a, r, s2, d = _batch(9)

    def online(x):
        return q_now if np.array_equal(np.asarray(x), s) else q_next_online

    loss = float(q_learning_loss((s, a, r, s2, d), 0.99, online, lambda x: q_next_target,
                                 loss="huber", double_dqn=True))
    best = q_next_online.argmax(axis=1)
    y = r + (1 - d) * 0.99 * q_next_target[np.arange(64), best]
    err = y - q_now[np.arange(64), a.astype(int)]
    huber = np.where(np.abs(err) <= 1, 0.5 * err**2, np.abs(err) - 0.5)
    assert loss == pytest.approx(huber.mean(), rel=1e-5)


def test_q_learning_loss_targets_carry_no_gradient():
    q_network, target_q_network = create_networks(8, 4, seed=0)
    with tf.GradientTape() as tape:
        loss = q_learning_loss(_batch(0), 0.9, q_network, target_q_network, double_dqn=True)
    grads = tape.gradient(loss, target_q_network.trainable_variables)
    assert all(g is None for g in grads)
