"""The graded tests judged against learner code, written in the lab's idiom.

Correct implementations (the course's own helpers among them, called the course's way)
must pass; each common mistake must fail with a message that names it. Nothing here
calls into the kit's implementation: every function below is what a learner writes, or
the course's own helpers as ``bench/course_port.py`` writes them out.
"""

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.keras.models import Sequential

import public_tests
from bench import course_port
from tests.learners import course_compute_loss

ROOT = Path(__file__).resolve().parents[1]
state_size, num_actions = (8,), 4
ALPHA, GAMMA, TAU, MINIBATCH_SIZE, E_DECAY, E_MIN = 1e-3, 0.995, 1e-3, 64, 0.995, 0.01


# ------------------------------------------------- the course's utils.py, verbatim in spirit
# get_experiences and get_action are the course's, as bench/course_port.py writes them out.
def course_get_experiences(memory_buffer):
    return course_port.course_get_experiences(memory_buffer, MINIBATCH_SIZE)


def course_check_update_conditions(t, num_steps_upd, memory_buffer):
    if (t + 1) % num_steps_upd == 0 and len(memory_buffer) > MINIBATCH_SIZE:
        return True
    else:
        return False


def course_get_new_eps(epsilon):
    return max(E_MIN, E_DECAY * epsilon)


def course_get_action(q_values, epsilon=0.0):
    return course_port.course_get_action(q_values, epsilon, num_actions)


def course_update_target_network(q_network, target_q_network):
    for target_weights, q_net_weights in zip(target_q_network.weights, q_network.weights):
        target_weights.assign(TAU * q_net_weights + (1.0 - TAU) * target_weights)


# ------------------------------------------------------------------ UNQ_C1
def course_network(last_activation="linear", units=64, with_input=True, dense_layers=3):
    layers = [tf.keras.layers.Input(state_size)] if with_input else []
    layers += [tf.keras.layers.Dense(units, activation="relu") for _ in range(dense_layers - 1)]
    layers.append(tf.keras.layers.Dense(num_actions, activation=last_activation))
    return Sequential(layers)


def test_network_accepts_the_course_cell():
    public_tests.test_network(course_network())
    public_tests.test_network(course_network(last_activation=None))  # None is linear
    public_tests.test_optimizer(tf.keras.optimizers.Adam(learning_rate=ALPHA), ALPHA)


@pytest.mark.parametrize("network, message", [
    (lambda: course_network(with_input=False), "no input shape.*Input"),
    (lambda: course_network(dense_layers=2), "three Dense layers, found 2"),
    (lambda: course_network(units=32), "Dense layer 1: expected 64 units, got 32"),
    (lambda: course_network(last_activation="relu"), "Dense layer 3: expected activation 'linear'"),
    (lambda: Sequential, "the class Sequential itself"),
])
def test_network_names_each_mistake(network, message):
    with pytest.raises(AssertionError, match=message):
        public_tests.test_network(network())


@pytest.mark.parametrize("optimizer, message", [
    (lambda: tf.keras.optimizers.Adam, "the class Adam itself"),
    (lambda: tf.keras.optimizers.SGD(learning_rate=ALPHA), "should be a keras Adam, got SGD"),
    (lambda: tf.keras.optimizers.Adam(learning_rate=0.01), "learning rate should be ALPHA"),
])
def test_optimizer_names_each_mistake(optimizer, message):
    with pytest.raises(AssertionError, match=message):
        public_tests.test_optimizer(optimizer(), ALPHA)


# ------------------------------------------------------------------ UNQ_C2
def one_hot_compute_loss(experiences, gamma, q_network, target_q_network):
    states, actions, rewards, next_states, done_vals = experiences
    y_targets = rewards + gamma * (1 - done_vals) * tf.reduce_max(target_q_network(next_states), axis=1)
    mask = tf.one_hot(tf.cast(actions, tf.int32), num_actions)  # the notebook's global num_actions
    q_values = tf.reduce_sum(q_network(states) * mask, axis=1)
    return tf.reduce_mean(tf.square(y_targets - q_values))


def gather_compute_loss(experiences, gamma, q_network, target_q_network):
    states, actions, rewards, next_states, done_vals = experiences
    y_targets = rewards + (1 - done_vals) * gamma * tf.reduce_max(target_q_network(next_states), axis=-1)
    q_values = tf.gather(q_network(states), tf.cast(actions, tf.int32), batch_dims=1)
    return tf.keras.losses.MeanSquaredError()(y_targets, q_values)


@pytest.mark.parametrize("loss", [course_compute_loss, one_hot_compute_loss, gather_compute_loss])
def test_compute_loss_accepts_correct_learner_code(loss):
    public_tests.test_compute_loss(loss)


def learner_loss(y_rule=None, q_rule=None, reduce=None):
    """A course-style loss with one step replaced by a mistake."""
    def compute_loss(experiences, gamma, q_network, target_q_network):
        states, actions, rewards, next_states, done_vals = experiences
        if y_rule is None:
            y_targets = rewards + (1 - done_vals) * gamma * tf.reduce_max(target_q_network(next_states), axis=-1)
        else:
            y_targets = y_rule(rewards, done_vals, gamma, q_network, target_q_network, states, next_states)
        if q_rule is None:
            q_values = tf.gather(q_network(states), tf.cast(actions, tf.int32), batch_dims=1)
        else:
            q_values = q_rule(q_network, target_q_network, states, next_states, actions)
        return (reduce or tf.keras.losses.MSE)(y_targets, q_values)
    return compute_loss


def _take(values, actions):
    return tf.gather(values, tf.cast(actions, tf.int32), batch_dims=1)


LOSS_MISTAKES = [
    (learner_loss(y_rule=lambda r, d, g, q, t, s, s2: r + g * tf.reduce_max(t(s2), axis=-1)),
     "terminal transitions must not bootstrap"),
    (learner_loss(y_rule=lambda r, d, g, q, t, s, s2: r + d * g * tf.reduce_max(t(s2), axis=-1)),
     r"use done_vals where they need \(1 - done_vals\)"),
    (learner_loss(y_rule=lambda r, d, g, q, t, s, s2: r + (1 - d) * g * tf.reduce_max(q(s2), axis=-1)),
     "must come from target_q_network"),
    (learner_loss(q_rule=lambda q, t, s, s2, a: _take(q(s2), a)), r"must come from q_network\(states\)"),
    (learner_loss(q_rule=lambda q, t, s, s2, a: _take(t(s), a)), "not from target_q_network"),
    (learner_loss(q_rule=lambda q, t, s, s2, a: tf.reduce_max(q(s), axis=-1)), "value of the action taken"),
    (learner_loss(reduce=lambda y, q: tf.reduce_sum(tf.square(y - q))), "not their sum"),
    (learner_loss(reduce=lambda y, q: tf.reduce_mean(tf.abs(y - q))), "not their absolute values"),
    (learner_loss(reduce=lambda y, q: tf.square(y - q)), r"one number.*shape \(3,\)"),
    (learner_loss(reduce=lambda y, q: None), "returned None"),
]


@pytest.mark.parametrize("loss, message", LOSS_MISTAKES)
def test_compute_loss_names_each_mistake(loss, message):
    with pytest.raises(AssertionError, match=message):
        public_tests.test_compute_loss(loss)


# -------------------------------------------------------------- agent_learn
def lab_agent(update_first=False, hard_copy=False, no_update=False, same_network=False, optimizer=None,
              steal_optimizer=None, loss_outside_tape=False, loss_function=course_compute_loss):
    """The course's networks, optimizer and ``@tf.function agent_learn``, with one mistake."""
    q_network = course_network()
    target_q_network = q_network if same_network else course_network()
    optimizer = optimizer or tf.keras.optimizers.Adam(learning_rate=ALPHA)
    step_with = steal_optimizer or optimizer

    @tf.function
    def agent_learn(experiences, gamma):
        compute_loss = loss_function
        if update_first:
            course_update_target_network(q_network, target_q_network)
        with tf.GradientTape() as tape:
            loss = compute_loss(experiences, gamma, q_network, target_q_network)
        gradients = tape.gradient(-loss if loss_outside_tape else loss, q_network.trainable_variables)
        step_with.apply_gradients(zip(gradients, q_network.trainable_variables))
        if hard_copy:
            for t, w in zip(target_q_network.weights, q_network.weights):
                t.assign(w)
        elif not (no_update or update_first):
            course_update_target_network(q_network, target_q_network)

    return agent_learn, q_network, target_q_network, optimizer


def test_agent_learn_accepts_the_course_cell():
    public_tests.test_agent_learn(*lab_agent(), GAMMA, TAU, ALPHA)


@pytest.mark.parametrize("mistake, message", [
    (dict(no_update=True), "target network did not change"),
    (dict(hard_copy=True), "copied from the Q-network"),
    (dict(update_first=True), "ran before the Adam step"),
    (dict(same_network=True), "the same object"),
    (dict(optimizer=tf.keras.optimizers.SGD(learning_rate=ALPHA)), "should be a keras Adam, got SGD"),
    (dict(steal_optimizer=tf.keras.optimizers.SGD(learning_rate=ALPHA)), "plain gradient-descent"),
    (dict(loss_outside_tape=True), "no gradient reached the Q-network"),
    (dict(loss_function=LOSS_MISTAKES[0][0]), "along the gradient of another loss"),
])
def test_agent_learn_names_each_mistake(mistake, message):
    with pytest.raises(AssertionError, match=message):
        public_tests.test_agent_learn(*lab_agent(**mistake), GAMMA, TAU, ALPHA)


# ---------------------------------------------------------------- helpers
def test_course_helpers_pass_called_the_course_way():
    public_tests.test_get_action(course_get_action)
    public_tests.test_get_experiences(course_get_experiences, MINIBATCH_SIZE)
    public_tests.test_update_target_network(course_update_target_network, TAU)
    public_tests.test_check_update_conditions(course_check_update_conditions, MINIBATCH_SIZE)
    public_tests.test_get_new_eps(course_get_new_eps, E_DECAY, E_MIN)


def reversed_update(q_network, target_q_network):
    for target_weights, q_net_weights in zip(target_q_network.weights, q_network.weights):
        q_net_weights.assign(TAU * target_weights + (1.0 - TAU) * q_net_weights)


def swapped_update(q_network, target_q_network):
    for target_weights, q_net_weights in zip(target_q_network.weights, q_network.weights):
        target_weights.assign((1.0 - TAU) * q_net_weights + TAU * target_weights)


@pytest.mark.parametrize("update, message", [
    (reversed_update, "must not change the Q-network"), (swapped_update, "swapped")])
def test_update_target_network_names_each_mistake(update, message):
    with pytest.raises(AssertionError, match=message):
        public_tests.test_update_target_network(update, TAU)


@pytest.mark.parametrize("get_action, message", [
    (lambda q, epsilon=0.0: np.argmax(q.numpy()[0]), "every action must be possible"),
    (lambda q, epsilon=0.0: np.argmax(q[0]) if random.random() > epsilon else random.randint(0, 4), "out of range"),
    (lambda q, epsilon=0.0: q.numpy()[0].argmax() if random.random() > epsilon else np.random.randint(3),
     "every action must be possible"),
    (lambda q, epsilon=0.0: q[0].argmax(), "must accept the Q-network's output, a tf.Tensor"),
])
def test_get_action_names_each_mistake(get_action, message):
    with pytest.raises(AssertionError, match=message):
        public_tests.test_get_action(get_action)


def _batch(experiences):
    columns = zip(*[(e.state, e.action, e.reward, e.next_state, e.done) for e in experiences])
    return tuple(tf.convert_to_tensor(np.array(c).astype(np.float32)) for c in columns)


_CACHED = []


def sample_once(memory_buffer):
    if not _CACHED:
        _CACHED.append(course_get_experiences(memory_buffer))
    return _CACHED[0]


@pytest.mark.parametrize("get_experiences, message", [
    (lambda memory: _batch(list(memory)[-MINIBATCH_SIZE:]), "not from a fixed window"),
    (lambda memory: _batch(list(memory)[:MINIBATCH_SIZE]), "not from a fixed window"),
    (lambda memory: _batch(random.sample(list(memory)[500:], MINIBATCH_SIZE)), "not from a fixed window"),
    (sample_once, "returned the same mini-batch"),
])
def test_get_experiences_names_each_mistake(get_experiences, message):
    with pytest.raises(AssertionError, match=message):
        public_tests.test_get_experiences(get_experiences, MINIBATCH_SIZE)


# ------------------------------------------------------ the course's import lines
@pytest.mark.parametrize("folder", [".", "notebooks"])
def test_course_import_lines_work_from_root_and_notebooks(folder):
    code = "import utils\nfrom public_tests import *\nprint(utils.TAU, test_compute_loss.__name__)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT / folder, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "0.001 test_compute_loss" in done.stdout


# --------------------------------------------- the learner's code trained in the kit's loop
CARTPOLE = dict(env_id="CartPole-v1", memory_size=5_000, minibatch_size=32, target_score=1e9, max_num_timesteps=60,
                seed=3, num_episodes=8)


class Messages:
    """A reporter that keeps the run's messages."""

    def __init__(self):
        self.lines = []

    def start(self, config, first_episode): ...
    def episode(self, row): ...
    def stop(self): ...

    def message(self, text):
        self.lines.append(text)


def cartpole_networks(like):
    """The lab's two Sequential networks, for CartPole's 4 inputs and 2 actions, starting from ``like``'s weights."""
    def network():
        return Sequential([tf.keras.layers.Input((4,)), tf.keras.layers.Dense(64, activation="relu"),
                           tf.keras.layers.Dense(64, activation="relu"), tf.keras.layers.Dense(2, activation="linear")])
    q_network, target_q_network = network(), network()
    q_network.set_weights(like.get_weights())
    target_q_network.set_weights(like.get_weights())
    return q_network, target_q_network


def test_train_runs_the_learners_code_in_the_kits_loop_as_the_kits_own(tmp_path):
    from lunar.config import DQNConfig
    from lunar.agent import build_q_network
    from lunar.training import train

    config = DQNConfig(**CARTPOLE)
    kit = train(config, tmp_path / "kit", save_outputs=False)
    q_network, target_q_network = cartpole_networks(build_q_network(4, 2, seed=config.seed))
    messages = Messages()
    own = train(config, tmp_path / "own", save_outputs=False, reporter=messages, compute_loss=course_compute_loss,
                q_network=q_network, target_q_network=target_q_network,
                optimizer=tf.keras.optimizers.Adam(learning_rate=config.alpha))
    assert messages.lines == ["training your compute_loss, q_network, target_q_network, optimizer in the kit's loop"]
    np.testing.assert_array_equal(own.history["steps"], kit.history["steps"])  # the same episodes were played
    np.testing.assert_allclose(own.history["loss"], kit.history["loss"], rtol=1e-4)


def eager_only_compute_loss(experiences, gamma, q_network, target_q_network):
    states, actions, rewards, next_states, done_vals = experiences
    max_qsa = np.max(target_q_network(next_states).numpy(), axis=-1)  # .numpy(): eager only
    y_targets = rewards + (1 - done_vals) * gamma * max_qsa
    q_values = tf.gather(q_network(states), tf.cast(actions, tf.int32), batch_dims=1)
    return tf.reduce_mean(tf.square(y_targets - q_values))


def python_function_compute_loss(experiences, gamma, q_network, target_q_network):
    states, actions, rewards, next_states, done_vals = experiences
    y_targets = rewards + (1 - done_vals) * gamma * tf.reduce_max(target_q_network(next_states), axis=-1)
    y_targets = tf.py_function(lambda y: y, [y_targets], tf.float32)  # runs in a tf.function, not under XLA
    q_values = tf.gather(q_network(states), tf.cast(actions, tf.int32), batch_dims=1)
    return tf.reduce_mean(tf.square(y_targets - q_values))


@pytest.mark.parametrize("loss, mode", [(eager_only_compute_loss, "eagerly"),
                                        (python_function_compute_loss, "as a plain tf.function")])
def test_train_falls_back_from_xla_for_the_learners_loss_and_says_why(tmp_path, loss, mode):
    from lunar.training import train

    messages = Messages()
    result = train(output_dir=tmp_path, save_outputs=False, reporter=messages, compute_loss=loss,
                   **dict(CARTPOLE, num_episodes=3))
    assert len(result.history) == 3 and result.history["loss"].notna().any()
    notes = [line for line in messages.lines if line.startswith("note: your compute_loss runs")]
    assert len(notes) == 1 and mode in notes[0], messages.lines


@pytest.mark.parametrize("parts, message", [
    (lambda: dict(q_network=course_network()), "give both q_network and target_q_network"),
    (lambda: dict(q_network=course_network(), target_q_network=course_network()), "does not take states of size 4"),
    (lambda: dict(q_network=Sequential([tf.keras.layers.Input((4,)), tf.keras.layers.Dense(4)]),
                  target_q_network=Sequential([tf.keras.layers.Input((4,)), tf.keras.layers.Dense(4)])), "2 actions"),
    (lambda: dict(q_network=Sequential([tf.keras.layers.Input((4,)), tf.keras.layers.Dense(8, activation="tanh"),
                                        tf.keras.layers.Dense(2)]),
                  target_q_network=Sequential([tf.keras.layers.Input((4,)), tf.keras.layers.Dense(2)])),
     "needs ReLU hidden layers"),
    (lambda: dict(optimizer="adam"), "must be a Keras optimizer"),
])
def test_train_refuses_learner_parts_that_do_not_fit_before_any_work(tmp_path, parts, message):
    from lunar.errors import UserError
    from lunar.training import train

    with pytest.raises(UserError, match=message):
        train(output_dir=tmp_path / "out", **CARTPOLE, **parts())
    assert not (tmp_path / "out").exists()


def broken_compute_loss(experiences, gamma, q_network, target_q_network):
    states, actions, rewards, next_states, done_vals = experiences
    return tf.reduce_mean(q_network(states) + tf.zeros((3, 3)))  # shapes that never fit


def test_train_refuses_a_learners_loss_that_no_mode_can_run_in_one_line(tmp_path):
    from lunar.errors import UserError
    from lunar.training import train

    with pytest.raises(UserError, match="your compute_loss cannot run in the update"):
        train(output_dir=tmp_path, save_outputs=False, compute_loss=broken_compute_loss, **CARTPOLE)


def test_train_calls_the_learners_own_agent_learn_as_it_is_and_says_it_is_slower(tmp_path):
    from lunar.errors import UserError
    from lunar.training import train

    agent_learn, q_network, target_q_network, optimizer = lab_agent()
    before = [w.copy() for w in q_network.get_weights()]
    messages = Messages()
    lander = dict(env_id="LunarLander-v3", num_episodes=3, max_num_timesteps=60, memory_size=1_000, minibatch_size=64,
                  target_score=1e9, seed=0)
    result = train(output_dir=tmp_path, save_outputs=False, reporter=messages, agent_learn=agent_learn,
                   q_network=q_network, target_q_network=target_q_network, optimizer=optimizer, **lander)
    notes = [line for line in messages.lines if "your agent_learn runs as it is" in line]
    assert len(notes) == 1, messages.lines
    updated = result.history["mean_q"].notna()
    assert updated.any() and result.history.loc[updated, "loss"].isna().all()  # the course's signature has no loss
    assert any(not np.array_equal(a, b) for a, b in zip(before, q_network.get_weights()))  # it learned in place
    with pytest.raises(UserError, match="give q_network and target_q_network too"):
        train(output_dir=tmp_path / "other", agent_learn=agent_learn, **lander)
