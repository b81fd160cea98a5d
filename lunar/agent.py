"""The DQN agent: networks, Adam, one compiled learning step, and the soft update."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

import keras
import numpy as np
import tensorflow as tf

from lunar.losses import q_learning_loss
from lunar.networks import create_networks, dense_stack_problem, numpy_forward, numpy_weights
from lunar.replay import unpack


def update_target_network(q_network: keras.Model, target_q_network: keras.Model, tau: float) -> None:
    """Soft (Polyak) update: ``theta_target <- tau * theta + (1 - tau) * theta_target``, every weight."""
    for target_weights, q_net_weights in zip(target_q_network.weights, q_network.weights):
        target_weights.assign(tau * q_net_weights + (1.0 - tau) * target_weights)


@dataclass(frozen=True)
class LabCode:
    """A learner's own lab code, trained in the kit's loop; each part left None is the kit's.

    ``compute_loss(experiences, gamma, q_network, target_q_network)`` has the course's
    signature; the networks must be a Dense/ReLU stack with a linear head (the course's), so
    that the loop can act in numpy on their weights; ``optimizer`` is any Keras optimizer.
    """

    compute_loss: Callable[..., Any] | None = None
    q_network: keras.Model | None = None
    target_q_network: keras.Model | None = None
    optimizer: Any = None
    agent_learn: Callable[..., Any] | None = None
    """The course's ``agent_learn(experiences, gamma)``, which updates the learner's own networks:
    called as it is, once per mini-batch, instead of the kit's compiled update (slower)."""

    def given(self) -> list[str]:
        return [name for name in ("compute_loss", "q_network", "target_q_network", "optimizer", "agent_learn")
                if getattr(self, name) is not None]


def check_lab_code(code: LabCode, state_size: int, num_actions: int) -> None:
    """UserError unless the learner's parts fit the environment and the kit's loop: both networks
    or neither, each a Dense/ReLU stack with a linear head from ``state_size`` to ``num_actions``,
    a Keras optimizer, a callable ``compute_loss``."""
    from lunar.errors import UserError

    if (code.q_network is None) != (code.target_q_network is None):
        raise UserError("give both q_network and target_q_network, or neither")
    for name in ("q_network", "target_q_network"):
        model = getattr(code, name)
        if model is not None:
            problem = dense_stack_problem(model, state_size, num_actions)
            if problem:
                raise UserError(f"{name}: {problem}")
    if code.optimizer is not None and not isinstance(code.optimizer, keras.optimizers.Optimizer):
        raise UserError(f"optimizer must be a Keras optimizer, got {type(code.optimizer).__name__}")
    for name in ("compute_loss", "agent_learn"):
        if getattr(code, name) is not None and not callable(getattr(code, name)):
            raise UserError(f"{name} must be a function, got {type(getattr(code, name)).__name__}")
    if code.agent_learn is not None and code.q_network is None:
        raise UserError("agent_learn updates your own networks: give q_network and target_q_network too")


UPDATE_MODES = ("XLA", "tf.function", "eager")
"""How the update runs, fastest first. The kit's own code always runs compiled as asked; a
learner's ``compute_loss`` falls back to the next mode when one fails on it."""


@dataclass(frozen=True)
class LearnResult:
    """What one call of :meth:`DQNAgent.learn` reports, averaged over its gradient steps."""

    loss: float
    mean_q: float
    """Mean of ``Q(s, .)`` over the mini-batch's states, after the update."""
    loss_known: bool = True
    """False when a learner's ``agent_learn`` returned no loss (the course's returns none): ``loss`` is NaN."""


class UpdateOutput:
    """The compiled update's single output: ``[loss, mean Q, every Q-network weight, flattened]``.

    Handing one array from TensorFlow to numpy costs one transfer instead of eight;
    :meth:`pack` (inside the compiled function) and :meth:`unpack` (in numpy) are the two
    sides of this one layout.
    """

    def __init__(self, variables: list[Any]) -> None:
        self.slices, start = [], 2
        for v in variables:
            size = int(np.prod(v.shape))
            self.slices.append((start, start + size, tuple(v.shape)))
            start += size

    @staticmethod
    def pack(loss: tf.Tensor, mean_q: tf.Tensor, variables: list[Any]) -> tf.Tensor:
        return tf.concat([tf.stack([loss, mean_q])] + [tf.reshape(v.value, [-1]) for v in variables], axis=0)

    def unpack(self, flat: np.ndarray) -> tuple[LearnResult, list[np.ndarray]]:
        weights = [flat[start:stop].reshape(shape) for start, stop, shape in self.slices]
        return LearnResult(float(flat[0]), float(flat[1])), weights


def call_without_binding(fn: Any) -> Callable[..., Any]:
    """``fn(*tensors)`` through the private flat call of a TensorFlow ``ConcreteFunction``: it skips
    the argument binding that the public call repeats every time (about 90 us, a fifth of an
    update). The kit's only private TensorFlow call; :meth:`DQNAgent.learn` keeps it only
    after checking, on first use, that it gives exactly what the public call gives."""
    call_flat, captured = fn._call_flat, fn.captured_inputs
    return lambda *tensors: call_flat(list(tensors), captured)


class DQNAgent:
    """A Q-network, its target network, Adam, and the learning step.

    :meth:`learn` is the one learning path: an XLA-compiled ``tf.function`` that takes the
    gradient of the loss with ``GradientTape``, applies an Adam step to the Q-network and
    soft-updates the target network, once per mini-batch it is given. The course's
    ``agent_learn(experiences, gamma)`` is a thin wrapper over it.

    Acting goes through :meth:`q_values` on numpy copies of the weights, refreshed by every
    update; never an eager Keras call per step.

    Which calls which::

        agent_learn(experiences, gamma)      the course's name: one mini-batch, packed, then
          learn(batches, gamma)              the loop's call: k mini-batches in one compiled call
            _first_update                    the first call for k: compile, check, choose the call
              _compiled_first_call           XLA, else tf.function, else eager (a learner's loss)
            _update                          the compiled body: k x _gradient_step, unrolled
              _gradient_step                 GradientTape, clip, Adam, soft update of the target
          _learn_with_agent_learn            instead of learn's body: a learner's own agent_learn
    """

    def __init__(self, state_size: int, num_actions: int, *, alpha: float = 1e-3, tau: float = 1e-3,
                 hidden_units: int = 64, seed: int | None = 0, loss: str = "mse",
                 double_dqn: bool = False, grad_clip_norm: float = 0.0, batch_size: int | None = None,
                 jit_compile: bool = True, lab_code: LabCode | None = None,
                 notify: Callable[[str], None] | None = None) -> None:
        self.state_size, self.num_actions = state_size, num_actions
        self.tau, self.loss_name, self.double_dqn = tau, loss, double_dqn
        self.grad_clip_norm, self.batch_size, self.jit_compile = grad_clip_norm, batch_size, jit_compile
        self.lab_code, self.notify = lab_code or LabCode(), notify or (lambda text: None)
        if self.lab_code.q_network is not None:
            self.q_network, self.target_q_network = self.lab_code.q_network, self.lab_code.target_q_network
        else:
            self.q_network, self.target_q_network = create_networks(state_size, num_actions, hidden_units, seed)
        self.optimizer = self.lab_code.optimizer or keras.optimizers.Adam(learning_rate=alpha, name="adam")  # a
        if not self.optimizer.built:                                                   # fixed name: fixed paths
            self.optimizer.build(self.q_network.trainable_variables)
        self.update_mode = UPDATE_MODES[0] if jit_compile else UPDATE_MODES[1]
        self.acting_weights = numpy_weights(self.q_network)
        self._output = UpdateOutput(self.q_network.weights)
        self._calls: dict[int, Callable[..., Any]] = {}  # number of gradient steps -> compiled update
        self._gamma: tuple[float, Any] = (float("nan"), None)

    # --- learning ----------------------------------------------------------
    def _gradient_step(self, experiences: tuple, gamma: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            if self.lab_code.compute_loss is not None:
                loss = self.lab_code.compute_loss(experiences, gamma, self.q_network, self.target_q_network)
            else:
                loss = q_learning_loss(experiences, gamma, self.q_network, self.target_q_network,
                                       loss=self.loss_name, double_dqn=self.double_dqn)
        gradients = tape.gradient(loss, self.q_network.trainable_variables)
        if self.grad_clip_norm > 0:
            gradients, _ = tf.clip_by_global_norm(gradients, self.grad_clip_norm)
        self.optimizer.apply_gradients(zip(gradients, self.q_network.trainable_variables))
        update_target_network(self.q_network, self.target_q_network, self.tau)
        return loss, tf.reduce_mean(self.q_network(experiences[0]))

    def _update(self, batches: tf.Tensor, gamma: tf.Tensor) -> tf.Tensor:
        results = [self._gradient_step(unpack(batches[g], self.state_size), gamma)  # unrolled: each step
                   for g in range(batches.shape[0])]                                # sees the last one's weights
        losses, mean_qs = zip(*results)
        return UpdateOutput.pack(tf.reduce_mean(tf.stack(losses)), tf.reduce_mean(tf.stack(mean_qs)),
                                 self.q_network.weights)

    def learn(self, batches: np.ndarray, gamma: float) -> LearnResult:
        """``len(batches)`` consecutive updates, each on its own packed mini-batch (rows
        ``[s, a, r, s', done]``, see :meth:`lunar.replay.ReplayMemory.sample_packed`), in one
        compiled call; returns the mean loss and mean Q. Compiled once per number of updates.
        A learner's ``agent_learn`` (:class:`LabCode`) is called instead, once per mini-batch."""
        if self.lab_code.agent_learn is not None:
            return self._learn_with_agent_learn(batches, gamma)
        args = (tf.constant(batches, tf.float32), self._gamma_tensor(gamma))
        call = self._calls.get(int(batches.shape[0]))
        flat = self._first_update(*args) if call is None else call(*args).numpy()
        result, self.acting_weights = self._output.unpack(flat)
        return result

    def _learn_with_agent_learn(self, batches: np.ndarray, gamma: float) -> LearnResult:
        """The learner's ``agent_learn`` on each mini-batch, as the course calls it; the mean of what it
        returns as the loss (NaN, not known, when it returns nothing, as the course's does); mean Q in numpy."""
        if self.update_mode != "agent_learn":
            self.update_mode = "agent_learn"
            self.notify("note: your agent_learn runs as it is, once per mini-batch (slower than the kit's "
                        "compiled update)")
        losses = [self.lab_code.agent_learn(tuple(tf.constant(c) for c in unpack(batch, self.state_size)), gamma)
                  for batch in batches]
        self.acting_weights = numpy_weights(self.q_network)
        mean_q = float(np.mean(self.q_values(unpack(batches[-1], self.state_size)[0])))
        if any(loss is None for loss in losses):
            return LearnResult(float("nan"), mean_q, loss_known=False)
        return LearnResult(float(np.mean([float(loss) for loss in losses])), mean_q)

    def _first_update(self, batches: tf.Tensor, gamma: tf.Tensor) -> np.ndarray:
        """Compile the update, run it, and choose how later calls go: through
        :func:`call_without_binding` if that runs and repeats this update bit for bit
        (output and every variable), else through TensorFlow's public call. A learner's
        ``compute_loss`` that one mode cannot run falls back to the next (:data:`UPDATE_MODES`)."""
        before = self.weights_state()
        fn, public = self._compiled_first_call(batches, gamma, before)
        if fn is None:
            return public
        after = self.weights_state()
        self._calls[int(batches.shape[0])] = fn
        try:
            self.load_weights_state(before)
            direct = call_without_binding(fn)
            same = (np.array_equal(direct(batches, gamma).numpy(), public)
                    and all(np.array_equal(after[k], v) for k, v in self.weights_state().items()))
        except Exception:  # noqa: BLE001 - any failure of a private API means: use the public one
            same = False
        if same:
            self._calls[int(batches.shape[0])] = direct
        else:
            self.load_weights_state(after)
        return public

    def _compiled_first_call(self, batches: tf.Tensor, gamma: tf.Tensor,
                             before: dict[str, np.ndarray]) -> tuple[Any, np.ndarray]:
        """(the compiled update, its first output), or (None, output) when it runs eagerly."""
        modes = UPDATE_MODES[UPDATE_MODES.index(self.update_mode):]
        if self.lab_code.compute_loss is None:
            modes = modes[:1]  # the kit's own update: compiled as asked, or its error
        spec = tf.TensorSpec([batches.shape[0], self.batch_size, batches.shape[2]], tf.float32)
        reason = ""
        for mode in modes:
            try:
                if mode == "eager":
                    fn, public = None, self._update(batches, gamma).numpy()
                    self._calls[int(batches.shape[0])] = lambda b, g: self._update(b, g)
                else:  # autograph off: the update has no tensor-dependent control flow
                    fn = tf.function(self._update, jit_compile=mode == "XLA", autograph=False
                                     ).get_concrete_function(spec, tf.TensorSpec([], tf.float32))
                    public = fn(batches, gamma).numpy()
            except Exception as error:  # noqa: BLE001 - the learner's code: say why, try the next mode
                if self.lab_code.compute_loss is None:
                    raise
                lines = str(error).strip().splitlines()
                reason = f"{type(error).__name__}: {lines[0][:160] if lines else ''}"
                self.load_weights_state(before)
                if mode == modes[-1]:
                    from lunar.errors import UserError
                    raise UserError(f"your compute_loss cannot run in the update ({reason})") from None
                continue
            if mode != modes[0]:
                self._announce(mode, reason)
            return fn, public
        raise AssertionError("unreachable: the last mode returns or raises")

    def _announce(self, mode: str, reason: str) -> None:
        self.update_mode = mode
        self.notify(f"note: your compute_loss runs {'as a plain tf.function' if mode == 'tf.function' else 'eagerly'}"
                    f" (slower), because the faster mode failed on it: {reason}")

    def _gamma_tensor(self, gamma: float) -> tf.Tensor:
        if gamma != self._gamma[0]:
            self._gamma = (gamma, tf.constant(gamma, tf.float32))
        return self._gamma[1]

    def agent_learn(self, experiences: tuple, gamma: float) -> float:
        """The course's ``agent_learn(experiences, gamma)``: one update on the mini-batch
        ``(states, actions, rewards, next_states, done_vals)``; returns its loss."""
        columns = [np.asarray(x, np.float32) for x in experiences]
        packed = np.concatenate([c.reshape(len(c), -1) for c in columns], axis=1)
        return self.learn(packed[np.newaxis], gamma).loss

    # --- acting --------------------------------------------------------------
    def q_values(self, states: np.ndarray) -> np.ndarray:
        """``Q(s, .)`` for a batch of states (or one state), in numpy."""
        return numpy_forward(self.acting_weights, states)

    # --- state, for checkpoints ----------------------------------------------
    def _variables(self) -> tuple[tuple[str, list[Any]], ...]:
        return (("q", self.q_network.weights), ("target", self.target_q_network.weights),
                ("adam", self.optimizer.variables))

    def weights_state(self) -> dict[str, np.ndarray]:
        """Every variable of the agent (both networks and Adam) as named numpy arrays."""
        return {f"{prefix}/{i:03d}": np.asarray(v) for prefix, variables in self._variables()
                for i, v in enumerate(variables)}

    def variable_paths(self) -> dict[str, np.ndarray]:
        """Under ``paths/<group>``, each group's variable paths in :meth:`weights_state`'s order
        (saved beside the arrays so that :meth:`load_weights_state` can check the order)."""
        return {f"paths/{prefix}": np.array([v.path for v in variables]) for prefix, variables in self._variables()}

    def load_weights_state(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`weights_state`; shapes and, where stored, variable paths must match.

        Adam keeps two moment arrays of the same shape per weight: only their paths tell
        them apart, so a Keras release that orders ``optimizer.variables`` differently is
        refused instead of swapping them silently.
        """
        for prefix, variables in self._variables():
            keys = sorted(k for k in state if k.startswith(prefix + "/"))
            if len(keys) != len(variables):
                raise ValueError(f"checkpoint has {len(keys)} {prefix} arrays, the agent {len(variables)}")
            if f"paths/{prefix}" in state:
                stored = [str(p) for p in np.asarray(state[f"paths/{prefix}"]).reshape(-1)]
                expected = [v.path for v in variables]
                if self.lab_code.given():  # a learner's Keras names are numbered by what the process built first
                    stored, expected = [_unnumbered(p) for p in stored], [_unnumbered(p) for p in expected]
                _check_paths(prefix, stored, expected)
            for key, v in zip(keys, variables):
                value = np.asarray(state[key])
                if tuple(value.shape) != tuple(v.shape):
                    raise ValueError(f"checkpoint array {key} has shape {value.shape}, expected {tuple(v.shape)}")
                v.assign(value)
        self.acting_weights = numpy_weights(self.q_network)


def _unnumbered(path: str) -> str:
    """``sequential_14/dense_36/kernel`` -> ``sequential/dense/kernel`` (Adam's ``..._momentum`` stays)."""
    return re.sub(r"_\d+(?=[/_]|$)", "", path)


def _check_paths(group: str, stored: list[str], expected: list[str]) -> None:
    """``ValueError`` naming the first variable whose stored path differs from the agent's."""
    if stored == expected:
        return
    if len(stored) != len(expected):
        raise ValueError(f"checkpoint lists {len(stored)} {group} variables, the agent has {len(expected)}")
    i, (have, want) = next((i, pair) for i, pair in enumerate(zip(stored, expected)) if pair[0] != pair[1])
    raise ValueError(f"checkpoint {group} variable {i} is {have!r}, this Keras has {want!r} there "
                     "(variables stored in another order): start a new run")
