"""A literal port of the course lab's training loop, written for the benchmark only.

COURSE-STYLE BASELINE, NOT THE KIT: an eager ``q_network(state)`` call at every step,
a ``deque`` of namedtuples, the course's ``get_experiences`` (``random.sample`` and
per-field ``np.array`` conversions) and a ``@tf.function`` ``agent_learn`` with the
soft update inside. Gymnasium 1.x API; ``done`` stored as ``terminated``.
"""

from __future__ import annotations

import random
import time
from collections import deque, namedtuple

import numpy as np
import tensorflow as tf

from lunar.config import DQNConfig
from lunar.losses import compute_loss
from lunar.agent import create_networks

experience = namedtuple("Experience", field_names=["state", "action", "reward", "next_state", "done"])


def course_get_experiences(memory_buffer, minibatch_size):
    experiences = random.sample(memory_buffer, k=minibatch_size)
    states = tf.convert_to_tensor(np.array([e.state for e in experiences if e is not None]), dtype=tf.float32)
    actions = tf.convert_to_tensor(np.array([e.action for e in experiences if e is not None]), dtype=tf.float32)
    rewards = tf.convert_to_tensor(np.array([e.reward for e in experiences if e is not None]), dtype=tf.float32)
    next_states = tf.convert_to_tensor(np.array([e.next_state for e in experiences if e is not None]),
                                       dtype=tf.float32)
    done_vals = tf.convert_to_tensor(np.array([e.done for e in experiences if e is not None]).astype(np.uint8),
                                     dtype=tf.float32)
    return states, actions, rewards, next_states, done_vals


def course_get_action(q_values, epsilon, num_actions):
    if random.random() > epsilon:
        return np.argmax(q_values.numpy()[0])
    return random.choice(np.arange(num_actions))


class CourseAgent:
    """The lab's globals (networks, optimizer, ``agent_learn``) bundled for the benchmark."""

    def __init__(self, state_size: int, num_actions: int, config: DQNConfig) -> None:
        self.q_network, self.target_q_network = create_networks(state_size, num_actions, config.hidden_units,
                                                                config.seed)
        self.optimizer = tf.keras.optimizers.Adam(learning_rate=config.alpha)
        self.tau = config.tau
        self.agent_learn = tf.function(self._agent_learn)

    def update_target_network(self):
        for target_weights, q_net_weights in zip(self.target_q_network.weights, self.q_network.weights):
            target_weights.assign(self.tau * q_net_weights + (1.0 - self.tau) * target_weights)

    def _agent_learn(self, experiences, gamma):
        with tf.GradientTape() as tape:
            loss = compute_loss(experiences, gamma, self.q_network, self.target_q_network)
        gradients = tape.gradient(loss, self.q_network.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.q_network.trainable_variables))
        self.update_target_network()


def run_course_loop(env, config: DQNConfig, max_steps: int) -> dict:
    """The lab's loop for ``max_steps`` environment steps; returns steps, episodes and seconds."""
    random.seed(config.seed)
    state_size, num_actions = env.observation_space.shape[0], env.action_space.n
    agent = CourseAgent(state_size, num_actions, config)
    memory_buffer: deque = deque(maxlen=config.memory_size)
    epsilon, total_steps, episodes = config.epsilon_start, 0, 0
    start = time.perf_counter()
    seed: int | None = config.seed
    while total_steps < max_steps:
        state, _ = env.reset(seed=seed)
        seed = None
        for t in range(config.max_num_timesteps):
            state_qn = np.expand_dims(state, axis=0)
            q_values = agent.q_network(state_qn)
            action = course_get_action(q_values, epsilon, num_actions)
            next_state, reward, terminated, truncated, _ = env.step(action)
            memory_buffer.append(experience(state, action, reward, next_state, terminated))
            total_steps += 1
            if (t + 1) % config.num_steps_for_update == 0 and len(memory_buffer) > config.minibatch_size:
                experiences = course_get_experiences(memory_buffer, config.minibatch_size)
                agent.agent_learn(experiences, config.gamma)
            state = next_state.copy()
            if terminated or truncated or total_steps >= max_steps:
                break
        episodes += 1
        epsilon = max(config.e_min, config.e_decay * epsilon)
    return {"steps": total_steps, "episodes": episodes, "seconds": time.perf_counter() - start}
