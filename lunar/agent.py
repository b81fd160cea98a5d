"""The DQN agent: networks, Adam, the compiled ``agent_learn`` and the soft update."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from lunar.losses import q_learning_loss
from lunar.networks import create_networks, numpy_forward, numpy_weights
from lunar.replay import unpack


def update_target_network(q_network: keras.Model, target_q_network: keras.Model, tau: float) -> None:
    """Soft (Polyak) update: ``theta_target <- tau * theta + (1 - tau) * theta_target``, every weight."""
    for target_weights, q_net_weights in zip(target_q_network.weights, q_network.weights):
        target_weights.assign(tau * q_net_weights + (1.0 - tau) * target_weights)


def direct_call(fn: Any) -> Any:
    """``fn(x, gamma)`` for a concrete function of two tensors, without the argument binding
    that TensorFlow's public call repeats on every call (about 90 us here, a fifth of an
    update). ``_call_flat`` is private API, so this falls back to ``fn`` where it is missing."""
    call_flat = getattr(fn, "_call_flat", None)
    if call_flat is None or not hasattr(fn, "captured_inputs"):
        return fn
    return lambda x, gamma: call_flat([x, gamma], fn.captured_inputs)


class DQNAgent:
    """A Q-network, its target network, Adam, and the learning step.

    ``agent.agent_learn(experiences, gamma)`` is the course's ``agent_learn``: a
    ``tf.function`` (XLA-compiled once, fixed input signature) that takes the
    gradient of the loss with ``GradientTape``, applies one Adam step to the
    Q-network and soft-updates the target network.

    Acting goes through :meth:`q_values` on numpy copies of the weights, refreshed by
    :meth:`learn` after every update; never an eager Keras call per step.
    """

    def __init__(self, state_size: int, num_actions: int, *, alpha: float = 1e-3, tau: float = 1e-3,
                 hidden_units: int = 64, seed: int | None = 0, loss: str = "mse",
                 double_dqn: bool = False, grad_clip_norm: float = 0.0, batch_size: int | None = None,
                 jit_compile: bool = True) -> None:
        self.state_size = state_size
        self.num_actions = num_actions
        self.tau = tau
        self.loss_name = loss
        self.double_dqn = double_dqn
        self.grad_clip_norm = grad_clip_norm
        self.q_network, self.target_q_network = create_networks(state_size, num_actions, hidden_units, seed)
        self.optimizer = keras.optimizers.Adam(learning_rate=alpha)
        self.optimizer.build(self.q_network.trainable_variables)
        spec = [
            (tf.TensorSpec([batch_size, state_size], tf.float32),
             tf.TensorSpec([batch_size], tf.float32),
             tf.TensorSpec([batch_size], tf.float32),
             tf.TensorSpec([batch_size, state_size], tf.float32),
             tf.TensorSpec([batch_size], tf.float32)),
            tf.TensorSpec([], tf.float32),
        ]
        # autograph=False: the update has no tensor-dependent control flow, and rewriting its
        # source (and Keras') to find some took 0.7 s of the 1.0 s trace, every run.
        self._learn_fn = tf.function(self._learn_step, input_signature=spec, jit_compile=jit_compile,
                                     autograph=False)
        self._batch_size = batch_size
        self._jit_compile = jit_compile
        self._learn_many_fns: dict[int, Any] = {}
        self.direct_call = True  # False: TensorFlow's public call path (same numbers, tested)
        self._gamma_value: float | None = None
        self._gamma_tensor: Any = None
        offset, self._weight_slices = 2, []
        for v in self.q_network.weights:
            size = int(np.prod(v.shape))
            self._weight_slices.append((offset, offset + size, tuple(v.shape)))
            offset += size
        self.acting_weights = numpy_weights(self.q_network)

    # --- learning ----------------------------------------------------------
    def _learn_step(self, experiences: tuple, gamma: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            loss = q_learning_loss(experiences, gamma, self.q_network, self.target_q_network,
                                   loss=self.loss_name, double_dqn=self.double_dqn)
        gradients = tape.gradient(loss, self.q_network.trainable_variables)
        if self.grad_clip_norm > 0:
            gradients, _ = tf.clip_by_global_norm(gradients, self.grad_clip_norm)
        self.optimizer.apply_gradients(zip(gradients, self.q_network.trainable_variables))
        update_target_network(self.q_network, self.target_q_network, self.tau)
        mean_q = tf.reduce_mean(self.q_network(experiences[0]))
        return loss, mean_q

    def _learn_many_step(self, batches: tf.Tensor, gamma: tf.Tensor) -> list[tf.Tensor]:
        losses, mean_qs = [], []
        for g in range(batches.shape[0]):  # unrolled: each update sees the previous one's weights
            loss, mean_q = self._learn_step(unpack(batches[g], self.state_size), gamma)
            losses.append(loss)
            mean_qs.append(mean_q)
        # One flat output (loss, mean Q, then every weight) costs one tensor hand-over, not eight.
        return tf.concat([tf.stack([tf.reduce_mean(tf.stack(losses)), tf.reduce_mean(tf.stack(mean_qs))])]
                         + [tf.reshape(v.value, [-1]) for v in self.q_network.weights], axis=0)

    def agent_learn(self, experiences: tuple, gamma: float) -> tf.Tensor:
        """The course's ``agent_learn(experiences, gamma)``: one update, returns the loss."""
        loss, _ = self._learn_fn(tuple(tf.convert_to_tensor(x, tf.float32) for x in experiences),
                                 tf.constant(gamma, tf.float32))
        self.sync_acting_weights()
        return loss

    def learn(self, packed: np.ndarray, gamma: float) -> tuple[float, float]:
        """One update from a packed mini-batch (rows ``[s, a, r, s', done]``, see
        :meth:`lunar.replay.ReplayMemory.sample_packed`); returns ``(loss, mean Q)``."""
        return self.learn_many(packed[np.newaxis], gamma)

    def learn_many(self, batches: np.ndarray, gamma: float) -> tuple[float, float]:
        """``len(batches)`` consecutive updates in one compiled call, each on its own packed
        mini-batch: the same as calling :meth:`learn` on each in turn, with one call's
        overhead. Returns the mean loss and mean Q.

        This is the hot path: one packed float32 array in; the loss, mean Q and the
        Q-network's new weights out (for acting in numpy), through a concrete function
        compiled once per number of updates (a plain tf.function call costs ~100 us more).
        """
        steps = int(batches.shape[0])
        fn = self._learn_many_fns.get(steps)
        if fn is None:
            spec = tf.TensorSpec([steps, self._batch_size, 2 * self.state_size + 3], tf.float32)
            fn = tf.function(self._learn_many_step, jit_compile=self._jit_compile, autograph=False
                             ).get_concrete_function(spec, tf.TensorSpec([], tf.float32))
            fn = direct_call(fn) if self.direct_call else fn
            self._learn_many_fns[steps] = fn
        if gamma != self._gamma_value:
            self._gamma_value, self._gamma_tensor = gamma, tf.constant(gamma, tf.float32)
        flat = fn(tf.constant(batches), self._gamma_tensor).numpy()
        self.acting_weights = [flat[start:stop].reshape(shape) for start, stop, shape in self._weight_slices]
        return float(flat[0]), float(flat[1])

    def sync_acting_weights(self) -> None:
        """Refresh the numpy copy of the Q-network used for acting."""
        self.acting_weights = numpy_weights(self.q_network)

    # --- acting --------------------------------------------------------------
    def q_values(self, states: np.ndarray) -> np.ndarray:
        """``Q(s, .)`` for a batch of states (or one state), in numpy."""
        return numpy_forward(self.acting_weights, states)

    # --- state, for checkpoints ----------------------------------------------
    def weights_state(self) -> dict[str, np.ndarray]:
        """Every variable of the agent (both networks and Adam) as named numpy arrays."""
        state: dict[str, np.ndarray] = {}
        for prefix, variables in (("q", self.q_network.weights), ("target", self.target_q_network.weights),
                                  ("adam", self.optimizer.variables)):
            for i, v in enumerate(variables):
                state[f"{prefix}/{i:03d}"] = np.asarray(v)
        return state

    def load_weights_state(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`weights_state`; shapes must match exactly."""
        for prefix, variables in (("q", self.q_network.weights), ("target", self.target_q_network.weights),
                                  ("adam", self.optimizer.variables)):
            keys = sorted(k for k in state if k.startswith(prefix + "/"))
            if len(keys) != len(variables):
                raise ValueError(f"checkpoint has {len(keys)} {prefix} arrays, the agent {len(variables)}")
            for key, v in zip(keys, variables):
                value = np.asarray(state[key])
                if tuple(value.shape) != tuple(v.shape):
                    raise ValueError(f"checkpoint array {key} has shape {value.shape}, expected {tuple(v.shape)}")
                v.assign(value)
        self.sync_acting_weights()

    def all_finite(self) -> bool:
        """False if any weight of the Q-network is NaN or infinite."""
        return all(np.isfinite(w).all() for w in self.acting_weights)
