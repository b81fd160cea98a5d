"""The course's graded tests, run against the kit's own implementation."""

import keras
import numpy as np
import pytest

import utils
from lunar import DQNAgent, compute_loss, create_networks
from lunar.config import DQNConfig
from lunar.agent import epsilon_greedy
from lunar.replay import ReplayMemory
import public_tests as graded

COURSE = DQNConfig()


def test_network_matches_course_architecture():
    q_network, target_q_network = create_networks(8, 4, seed=0)
    graded.test_network(q_network)
    graded.test_network(target_q_network)
    for a, b in zip(q_network.get_weights(), target_q_network.get_weights()):
        assert np.array_equal(a, b), "the target network must start as an exact copy"


def test_network_graded_test_rejects_wrong_architecture():
    wrong = keras.Sequential([keras.layers.Input(shape=(8,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(64, activation="relu"), keras.layers.Dense(4)])
    with pytest.raises(AssertionError, match="64 units"):
        graded.test_network(wrong)


def test_optimizer_is_adam_with_alpha():
    agent = DQNAgent(8, 4, alpha=COURSE.alpha, seed=0)
    graded.test_optimizer(agent.optimizer, COURSE.alpha)
    with pytest.raises(AssertionError):
        graded.test_optimizer(keras.optimizers.SGD(1e-3), COURSE.alpha)


def test_compute_loss_matches_hand_computed_values():
    graded.test_compute_loss(compute_loss)


def test_compute_loss_graded_test_catches_bootstrapping_terminals():
    def wrong(experiences, gamma, q_network, target_q_network):
        import tensorflow as tf
        states, actions, rewards, next_states, done_vals = experiences
        y = rewards + gamma * tf.reduce_max(target_q_network(next_states), axis=-1)  # ignores done
        q = tf.gather(q_network(states), tf.cast(actions, tf.int32), batch_dims=1)
        return tf.reduce_mean(tf.square(y - q))

    with pytest.raises(AssertionError):
        graded.test_compute_loss(wrong)


@pytest.mark.parametrize("alpha", [COURSE.alpha, 0.1])  # a learner may change ALPHA: the test scales with it
def test_agent_learn_takes_adam_step_and_soft_update(alpha):
    agent = DQNAgent(8, 4, alpha=alpha, tau=COURSE.tau, seed=0)
    graded.test_agent_learn(agent.agent_learn, agent.q_network, agent.target_q_network, agent.optimizer,
                            gamma=COURSE.gamma, TAU=COURSE.tau, ALPHA=alpha)


def test_agent_learn_graded_test_catches_missing_soft_update():
    agent = DQNAgent(8, 4, alpha=COURSE.alpha, tau=1.0, seed=0)  # hard copy instead of tau=1e-3
    with pytest.raises(AssertionError, match="copied from the Q-network"):
        graded.test_agent_learn(agent.agent_learn, agent.q_network, agent.target_q_network, agent.optimizer,
                                gamma=COURSE.gamma, TAU=COURSE.tau, ALPHA=COURSE.alpha)


def test_update_target_network_is_exact_soft_update():
    graded.test_update_target_network(utils.update_target_network, utils.TAU)


def test_get_action_is_epsilon_greedy():
    graded.test_get_action(utils.get_action)
    rng = np.random.default_rng(0)
    graded.test_get_action(lambda q, eps: epsilon_greedy(q, eps, rng))


def test_get_action_graded_test_rejects_always_greedy():
    with pytest.raises(AssertionError):
        graded.test_get_action(lambda q, eps=0.0: int(np.argmax(q)))


def test_get_new_eps_decays_and_clamps():
    graded.test_get_new_eps(utils.get_new_eps, utils.E_DECAY, utils.E_MIN)


def test_check_update_conditions_follows_the_course():
    graded.test_check_update_conditions(utils.check_update_conditions, utils.MINIBATCH_SIZE)


def test_get_experiences_samples_distinct_float32_batch():
    graded.test_get_experiences(utils.get_experiences, utils.MINIBATCH_SIZE)


def test_get_experiences_accepts_the_lean_replay_memory():
    memory = ReplayMemory(1000, 8)
    for i in range(1500):
        state = np.full(8, i, dtype=np.float32)
        memory.add(state, i % 4, float(i), state + 0.5, i % 3 == 0)
    states, actions, rewards, next_states, done_vals = utils.get_experiences(memory)
    ids = rewards.numpy().astype(int)
    assert len(set(ids)) == utils.MINIBATCH_SIZE and ids.min() >= 500
    assert np.array_equal(states.numpy()[:, 0], ids)
    assert np.array_equal(done_vals.numpy(), (ids % 3 == 0).astype(np.float32))
