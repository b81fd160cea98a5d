"""The speed layer: consecutive calls of the course's ``agent_learn``, compiled together.

:meth:`FastUpdate.learn` gives what ``for b in batches: agent.agent_learn(b, gamma)`` gives
(``tests/test_fast_update.py`` checks every weight), and runs the same code: the Python body of
:meth:`lunar.agent.DQNAgent.agent_learn`, traced into one larger function that also hands back
the Q-network's weights, which acting in numpy (:meth:`lunar.agent.DQNAgent.q_values`) needs
after every update. Its three tricks, each with what it saves per learning step of the course
preset (``python bench/fast_update.py`` on 2 CPU cores; ``docs/fast_update.md`` has the fast
preset's too):

1. **The learning step's mini-batches in one XLA call.** The ``gradient_steps`` updates of a
   learning step, unrolled into one ``tf.function(jit_compile=True)``: one call from Python, and
   XLA fuses the small Dense-layer operations: 379 -> 213 us against the same function compiled
   without XLA.
2. **One transfer back** (:class:`FlatOutput`): the loss, the mean Q and every Q-network weight
   come back as one flat array instead of seven tensors copied to numpy one by one: 245 -> 213 us.
3. **The compiled call without argument binding** (:func:`call_without_binding`): TensorFlow's
   public call of a concrete function binds its arguments again at every call: 273 -> 213 us.
   The kit's only private TensorFlow call, used only after its first result was checked, bit
   for bit, against the public call's.

Together: the lab's own ``@tf.function`` ``agent_learn``, called once per mini-batch with the
weights then copied to numpy, takes 1,560 us per learning step; this layer, 213 us.

A learner's own ``compute_loss`` that XLA cannot compile falls back to a plain ``tf.function``,
then to eager execution, each said in one line; a learner's own ``agent_learn`` is called as it
is, once per mini-batch, as the course calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import tensorflow as tf

from lunar.agent import DQNAgent
from lunar.errors import UserError
from lunar.replay import unpack

MODES = ("XLA", "tf.function", "eager")
"""How the update runs, fastest first. The kit's own code always runs compiled as asked; a
learner's ``compute_loss`` falls back to the next mode when one fails on it."""


@dataclass(frozen=True)
class LearnResult:
    """What one call of :meth:`FastUpdate.learn` reports, averaged over its mini-batches."""

    loss: float
    mean_q: float
    """Mean of ``Q(s, .)`` over the mini-batch's states, after the update."""
    loss_known: bool = True
    """False when a learner's ``agent_learn`` returned no loss (the course's returns none): ``loss`` is NaN."""


class FlatOutput:
    """The compiled update's single output: ``[loss, mean Q, every Q-network weight, flattened]``.

    :meth:`pack` (inside the compiled function) and :meth:`unpack` (in numpy) are the two sides of
    this one layout.
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
    the argument binding that the public call repeats every time."""
    call_flat, captured = fn._call_flat, fn.captured_inputs
    return lambda *tensors: call_flat(list(tensors), captured)


class FastUpdate:
    """``agent.agent_learn`` on each of several mini-batches, in one compiled call.

    ``jit_compile=False`` compiles without XLA (a plain ``tf.function``); ``learners_loss`` says the
    agent's ``compute_loss`` is a learner's, which may fall back to slower modes (:data:`MODES`);
    ``agent_learn`` is a learner's own, called instead, once per mini-batch; ``notify`` hears each
    fall-back.
    """

    def __init__(self, agent: DQNAgent, jit_compile: bool = True, learners_loss: bool = False,
                 agent_learn: Callable[..., Any] | None = None, notify: Callable[[str], None] | None = None) -> None:
        self.agent, self.own_agent_learn, self.learners_loss = agent, agent_learn, learners_loss
        self.agent_learn = type(agent).agent_learn.python_function.__get__(agent)  # the body, without @tf.function
        self.mode = MODES[0] if jit_compile else MODES[1]
        self.notify = notify or (lambda text: None)
        self.output = FlatOutput(agent.q_network.weights)
        self.calls: dict[int, Callable[..., Any]] = {}  # number of mini-batches -> compiled call
        self._gamma: tuple[float, Any] = (float("nan"), None)

    def steps(self, batches: tf.Tensor, gamma: tf.Tensor) -> tf.Tensor:
        """The compiled body: ``agent_learn`` on each packed mini-batch in turn, unrolled, so that
        each update sees the weights of the one before; then the flat output."""
        losses, mean_qs = [], []
        for g in range(batches.shape[0]):
            experiences = unpack(batches[g], self.agent.state_size)
            losses.append(self.agent_learn(experiences, gamma))
            mean_qs.append(tf.reduce_mean(self.agent.q_network(experiences[0])))
        return FlatOutput.pack(tf.reduce_mean(tf.stack(losses)), tf.reduce_mean(tf.stack(mean_qs)),
                               self.agent.q_network.weights)

    def learn(self, batches: np.ndarray, gamma: float) -> LearnResult:
        """``len(batches)`` consecutive updates, each on its own packed mini-batch (rows
        ``[s, a, r, s', done]``, :meth:`lunar.replay.ReplayMemory.sample_packed`); the mean loss and
        mean Q. Compiled once per number of mini-batches."""
        if self.own_agent_learn is not None:
            return self._learners_agent_learn(batches, gamma)
        args = (tf.constant(batches, tf.float32), self._gamma_tensor(gamma))
        call = self.calls.get(int(batches.shape[0]))
        flat = self._first_call(*args) if call is None else call(*args).numpy()
        result, self.agent.acting_weights = self.output.unpack(flat)
        return result

    def _learners_agent_learn(self, batches: np.ndarray, gamma: float) -> LearnResult:
        """The learner's ``agent_learn`` on each mini-batch, as the course calls it; the mean of what it
        returns as the loss (NaN, not known, when it returns nothing, as the course's does)."""
        if self.mode != "agent_learn":
            self.mode = "agent_learn"
            self.notify("note: your agent_learn runs as it is, once per mini-batch (slower than the kit's "
                        "compiled update)")
        state_size = self.agent.state_size
        losses = [self.own_agent_learn(tuple(tf.constant(c) for c in unpack(batch, state_size)), gamma)
                  for batch in batches]
        self.agent.refresh_acting_weights()
        mean_q = float(np.mean(self.agent.q_values(unpack(batches[-1], state_size)[0])))
        if any(loss is None for loss in losses):
            return LearnResult(float("nan"), mean_q, loss_known=False)
        return LearnResult(float(np.mean([float(loss) for loss in losses])), mean_q)

    def _first_call(self, batches: tf.Tensor, gamma: tf.Tensor) -> np.ndarray:
        """Compile the update, run it, and choose how later calls go: through
        :func:`call_without_binding` if that runs and repeats this update bit for bit (output and
        every variable), else through TensorFlow's public call."""
        before = self._variables_now()
        fn, public = self._compiled_first_call(batches, gamma, before)
        if fn is None:
            return public
        after = self._variables_now()
        self.calls[int(batches.shape[0])] = fn
        try:
            self._restore(before)
            direct = call_without_binding(fn)
            same = (np.array_equal(direct(batches, gamma).numpy(), public)
                    and all(np.array_equal(a, b) for a, b in zip(after, self._variables_now())))
        except Exception:  # noqa: BLE001 - any failure of a private API means: use the public one
            same = False
        if same:
            self.calls[int(batches.shape[0])] = direct
        else:
            self._restore(after)
        return public

    def _compiled_first_call(self, batches: tf.Tensor, gamma: tf.Tensor,
                             before: list[np.ndarray]) -> tuple[Any, np.ndarray]:
        """(the compiled update, its first output), or (None, output) when it runs eagerly."""
        modes = MODES[MODES.index(self.mode):] if self.learners_loss else (self.mode,)
        reason = ""
        for mode in modes:
            try:
                fn, public = self._compile(mode, batches, gamma)
            except Exception as error:  # noqa: BLE001 - the learner's code: say why, try the next mode
                if not self.learners_loss:
                    raise
                lines = str(error).strip().splitlines()
                reason = f"{type(error).__name__}: {lines[0][:160] if lines else ''}"
                self._restore(before)
                if mode == modes[-1]:
                    raise UserError(f"your compute_loss cannot run in the update ({reason})") from None
                continue
            if mode != modes[0]:
                self.mode = mode
                self.notify(f"note: your compute_loss runs {'as a plain tf.function' if mode == 'tf.function' else 'eagerly'}"
                            f" (slower), because the faster mode failed on it: {reason}")
            return fn, public
        raise AssertionError("unreachable: the last mode returns or raises")

    def _compile(self, mode: str, batches: tf.Tensor, gamma: tf.Tensor) -> tuple[Any, np.ndarray]:
        """(the update compiled in ``mode``, its first output); (None, output) for ``"eager"``."""
        if mode == "eager":
            self.calls[int(batches.shape[0])] = self.steps
            return None, self.steps(batches, gamma).numpy()
        # autograph off: the update has no tensor-dependent control flow
        fn = tf.function(self.steps, jit_compile=mode == "XLA", autograph=False).get_concrete_function(
            tf.TensorSpec(batches.shape, tf.float32), tf.TensorSpec([], tf.float32))
        return fn, fn(batches, gamma).numpy()

    def _variables_now(self) -> list[np.ndarray]:
        return [np.asarray(v) for v in self._variables()]

    def _restore(self, values: list[np.ndarray]) -> None:
        for v, value in zip(self._variables(), values):
            v.assign(value)

    def _variables(self) -> list[Any]:
        agent = self.agent
        return [*agent.q_network.weights, *agent.target_q_network.weights, *agent.optimizer.variables]

    def _gamma_tensor(self, gamma: float) -> tf.Tensor:
        if gamma != self._gamma[0]:
            self._gamma = (gamma, tf.constant(gamma, tf.float32))
        return self._gamma[1]
