"""The course's agent, as the lab writes it: the two networks, Adam, ``agent_learn`` and acting.

Read it next to the lab. Exercise 1 is :func:`build_q_network` (one factory for the
Q-network and its target, :func:`create_networks`) and the Adam optimizer of
:class:`DQNAgent`; Exercise 3 is :meth:`DQNAgent.agent_learn`, the ``@tf.function`` every
update of the kit runs; ``utils.update_target_network`` is :func:`update_target_network`;
``utils.get_action`` and ``utils.get_new_eps`` are :func:`epsilon_greedy` and
:func:`get_new_eps`. The training loop calls ``agent_learn`` through
:mod:`lunar.fast_update`, which compiles several of its calls into one and keeps the numpy
copy of the weights that :meth:`DQNAgent.act` uses up to date.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from lunar.losses import loss_function


def build_q_network(state_size: int, num_actions: int, hidden_units: int = 64,
                    seed: int | None = None, name: str = "q_network") -> keras.Sequential:
    """``Input(state_size) -> Dense(64, relu) -> Dense(64, relu) -> Dense(num_actions, linear)``.

    ``seed`` makes the Glorot-uniform initial weights repeatable without touching any global
    random state. Fixed layer names make every variable's path (``q_network/hidden_1/kernel``,
    Adam's ``adam/q_network_hidden_1_kernel_momentum``) independent of what else the process built.
    """
    def init(i: int) -> keras.initializers.Initializer:
        return keras.initializers.GlorotUniform(seed=None if seed is None else seed * 7919 + i)

    state_size, num_actions, hidden_units = int(state_size), int(num_actions), int(hidden_units)
    return keras.Sequential([
        keras.layers.Input(shape=(state_size,)),
        keras.layers.Dense(hidden_units, activation="relu", kernel_initializer=init(0), name="hidden_1"),
        keras.layers.Dense(hidden_units, activation="relu", kernel_initializer=init(1), name="hidden_2"),
        keras.layers.Dense(num_actions, activation="linear", kernel_initializer=init(2), name="q_values"),
    ], name=name)


def create_networks(state_size: int, num_actions: int, hidden_units: int = 64,
                    seed: int | None = None) -> tuple[keras.Sequential, keras.Sequential]:
    """``(q_network, target_q_network)``: the target starts as an exact copy."""
    q_network = build_q_network(state_size, num_actions, hidden_units, seed, name="q_network")
    target_q_network = build_q_network(state_size, num_actions, hidden_units, seed, name="target_q_network")
    target_q_network.set_weights(q_network.get_weights())
    return q_network, target_q_network


def update_target_network(q_network: keras.Model, target_q_network: keras.Model, tau: float) -> None:
    """Soft (Polyak) update: ``theta_target <- tau * theta + (1 - tau) * theta_target``, every weight."""
    for target_weights, q_net_weights in zip(target_q_network.weights, q_network.weights):
        target_weights.assign(tau * q_net_weights + (1.0 - tau) * target_weights)


class DQNAgent:
    """A Q-network, its target network, Adam, the course's ``agent_learn``, and acting.

    ``compute_loss``, ``q_network`` with ``target_q_network``, and ``optimizer`` replace the kit's
    own parts (a learner's lab code); ``loss`` (``"mse"``, ``"huber"``) and ``double_dqn`` choose
    the kit's loss among its variants (:func:`lunar.losses.loss_function`), ``grad_clip_norm > 0``
    clips the gradients' global norm. The course's agent is the default of every argument.
    """

    def __init__(self, state_size: int, num_actions: int, *, alpha: float = 1e-3, tau: float = 1e-3,
                 hidden_units: int = 64, seed: int | None = 0, loss: str = "mse", double_dqn: bool = False,
                 grad_clip_norm: float = 0.0, compute_loss: Callable[..., Any] | None = None,
                 q_network: keras.Model | None = None, target_q_network: keras.Model | None = None,
                 optimizer: Any = None) -> None:
        self.state_size, self.num_actions, self.tau, self.grad_clip_norm = state_size, num_actions, tau, grad_clip_norm
        self.compute_loss = compute_loss or loss_function(loss, double_dqn)
        if q_network is None:
            q_network, target_q_network = create_networks(state_size, num_actions, hidden_units, seed)
        self.q_network, self.target_q_network = q_network, target_q_network
        # a fixed name gives Adam's variables fixed paths, which checkpoints check
        self.optimizer = optimizer or keras.optimizers.Adam(learning_rate=alpha, name="adam")
        if not self.optimizer.built:
            self.optimizer.build(self.q_network.trainable_variables)
        self.acting_weights = numpy_weights(self.q_network)

    @classmethod
    def from_config(cls, config: Any, state_size: int, num_actions: int, **lab_parts: Any) -> "DQNAgent":
        """The agent a :class:`lunar.config.DQNConfig` describes; ``lab_parts`` as in the constructor."""
        return cls(state_size, num_actions, alpha=config.alpha, tau=config.tau, hidden_units=config.hidden_units,
                   seed=config.seed, loss=config.loss, double_dqn=config.double_dqn,
                   grad_clip_norm=config.grad_clip_norm, **lab_parts)

    @tf.function
    def agent_learn(self, experiences: tuple, gamma: float) -> tf.Tensor:
        """The lab's ``agent_learn``: one Adam step on the loss of a mini-batch
        ``experiences = (states, actions, rewards, next_states, done_vals)``, then the soft update
        of the target network. Returns the loss (the course's returns nothing)."""
        # Calculate the loss
        with tf.GradientTape() as tape:
            loss = self.compute_loss(experiences, gamma, self.q_network, self.target_q_network)

        # Get the gradients of the loss with respect to the weights
        gradients = tape.gradient(loss, self.q_network.trainable_variables)
        if self.grad_clip_norm > 0:  # an option, off in the course preset
            gradients, _ = tf.clip_by_global_norm(gradients, self.grad_clip_norm)

        # Update the weights of the q_network
        self.optimizer.apply_gradients(zip(gradients, self.q_network.trainable_variables))

        # Update the weights of the target q_network
        update_target_network(self.q_network, self.target_q_network, self.tau)
        return loss

    def q_values(self, states: np.ndarray) -> np.ndarray:
        """``Q(s, .)`` for a batch of states (or one state): the Q-network run in numpy on
        :attr:`acting_weights` (about 8 us for one state, against 2.5 ms for an eager Keras call)."""
        return numpy_forward(self.acting_weights, states)

    def act(self, state: np.ndarray, epsilon: float, rng: np.random.Generator) -> int:
        """The course's ``get_action(q_network(state), epsilon)``: epsilon-greedy on ``Q(state, .)``."""
        return epsilon_greedy(self.q_values(state), epsilon, rng)

    def refresh_acting_weights(self) -> None:
        """Copy the Q-network's weights to :attr:`acting_weights` (after updates made outside
        :mod:`lunar.fast_update`, which refreshes them itself)."""
        self.acting_weights = numpy_weights(self.q_network)


def numpy_weights(model: keras.Model) -> list[np.ndarray]:
    """The model's weights as numpy arrays, kernel and bias of each Dense layer in order."""
    return [np.asarray(v) for v in model.weights]


def numpy_forward(weights: Sequence[np.ndarray], states: np.ndarray) -> np.ndarray:
    """Q-values of a Dense/ReLU stack with a linear head: ``relu(x W1 + b1) ... W_L + b_L``."""
    x = states
    last = len(weights) - 2
    for i in range(0, len(weights), 2):
        x = x @ weights[i] + weights[i + 1]
        if i < last:
            np.maximum(x, 0.0, out=x)
    return x


def epsilon_greedy(q_values: Any, epsilon: float, rng: np.random.Generator) -> int:
    """With probability ``epsilon`` a uniformly random action, otherwise ``argmax_a Q(s, a)``.

    ``q_values`` has shape ``(num_actions,)`` or ``(1, num_actions)``; a tensor is accepted.
    Exactly one uniform draw decides explore or exploit; a second picks the random action.
    """
    q = np.asarray(q_values).reshape(-1)
    if rng.random() > epsilon:
        return int(np.argmax(q))
    return int(rng.integers(q.shape[0]))


def get_new_eps(epsilon: float, e_decay: float = 0.995, e_min: float = 0.01) -> float:
    """The course's per-episode decay: ``max(E_MIN, E_DECAY * epsilon)``."""
    return max(e_min, e_decay * epsilon)

