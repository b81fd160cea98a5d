"""The DQN loss: the course's ``compute_loss`` and its documented variants."""

from __future__ import annotations

import functools
from typing import Any, Callable

import tensorflow as tf

Network = Callable[[Any], Any]


def td_targets(rewards: Any, done_vals: Any, gamma: Any, max_qsa: Any) -> tf.Tensor:
    """Bellman targets ``y = r + (1 - done) * gamma * max_a' Q_target(s', a')``.

    ``done`` must be *terminated*, not *terminated or truncated*: an episode cut
    by a time limit did not reach a terminal state, so its target bootstraps.
    """
    max_qsa = tf.convert_to_tensor(max_qsa)
    dtype = max_qsa.dtype
    rewards = tf.cast(rewards, dtype)
    done_vals = tf.cast(done_vals, dtype)
    return rewards + (1.0 - done_vals) * (tf.cast(gamma, dtype) * max_qsa)


def q_learning_loss(experiences: tuple, gamma: Any, q_network: Network, target_q_network: Network,
                    loss: str = "mse", double_dqn: bool = False) -> tf.Tensor:
    """Mean TD loss over a mini-batch.

    - targets: ``y_i = r_i + (1 - d_i) * gamma * Q_target(s'_i, a*_i)`` where
      ``a*_i = argmax_a Q_target(s'_i, a)`` (DQN) or ``argmax_a Q(s'_i, a)`` (Double DQN);
    - predictions: ``Q(s_i, a_i)``, the Q-network's value at the action taken;
    - ``loss="mse"``: ``mean((y - Q)^2)``; ``loss="huber"``: ``mean(h(y - Q))`` with
      ``h(d) = d^2 / 2`` for ``|d| <= 1`` and ``|d| - 1/2`` beyond.

    The targets carry no gradient. Networks may be Keras models or any callable
    returning an array of shape ``(batch, num_actions)``.
    """
    states, actions, rewards, next_states, done_vals = experiences
    next_q = tf.convert_to_tensor(target_q_network(next_states))
    if double_dqn:
        best = tf.argmax(tf.convert_to_tensor(q_network(next_states)), axis=-1, output_type=tf.int32)
        max_qsa = tf.gather(next_q, best, axis=1, batch_dims=1)
    else:
        max_qsa = tf.reduce_max(next_q, axis=-1)
    y_targets = tf.stop_gradient(td_targets(rewards, done_vals, gamma, max_qsa))

    q_values = tf.convert_to_tensor(q_network(states))
    q_sa = tf.gather(q_values, tf.cast(actions, tf.int32), axis=1, batch_dims=1)
    error = y_targets - tf.cast(q_sa, y_targets.dtype)
    if loss == "mse":
        return tf.reduce_mean(tf.square(error))
    if loss == "huber":
        absolute = tf.abs(error)
        return tf.reduce_mean(tf.where(absolute <= 1.0, 0.5 * tf.square(error), absolute - 0.5))
    raise ValueError(f"unknown loss {loss!r}")


def compute_loss(experiences: tuple, gamma: Any, q_network: Network, target_q_network: Network) -> tf.Tensor:
    """The course's graded loss (UNQ_C2).

    Args:
      experiences: ``(states, actions, rewards, next_states, done_vals)``.
      gamma: the discount factor.
      q_network: predicts ``Q(s, .)``.
      target_q_network: predicts the targets ``Q_target(s', .)``.

    Returns:
      The mean squared error between ``y = r + (1 - done) * gamma * max_a' Q_target(s', a')``
      and ``Q(s, a)``.
    """
    return q_learning_loss(experiences, gamma, q_network, target_q_network, loss="mse", double_dqn=False)


def loss_function(loss: str = "mse", double_dqn: bool = False) -> Callable[..., tf.Tensor]:
    """The loss the agent trains on: the course's :func:`compute_loss` for ``("mse", False)``, else
    :func:`q_learning_loss` with that ``loss`` and ``double_dqn`` (options, off in the course preset)."""
    if loss == "mse" and not double_dqn:
        return compute_loss
    if loss not in ("mse", "huber"):
        raise ValueError(f"unknown loss {loss!r}")
    return functools.partial(q_learning_loss, loss=loss, double_dqn=double_dqn)
