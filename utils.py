"""The course's ``utils.py``: the lab's helper functions, same names and signatures.

A facade over the ``lunar`` package: each helper calls the package's implementation
with the course's constants. The lab's notebook imports this module as ``utils``.
"""

from __future__ import annotations

import random
from typing import Any, Sequence

import numpy as np

from lunar.config import DQNConfig
from lunar.run.tfsetup import warn_legacy_keras

warn_legacy_keras()

_COURSE = DQNConfig()

SEED = 0  # the course's seed for the random number generators
MINIBATCH_SIZE = _COURSE.minibatch_size  # mini-batch size
TAU = _COURSE.tau  # soft update parameter
E_DECAY = _COURSE.e_decay  # epsilon-decay rate for the epsilon-greedy policy
E_MIN = _COURSE.e_min  # minimum epsilon value for the epsilon-greedy policy

random.seed(SEED)


def get_experiences(memory_buffer: Any) -> tuple:
    """A random mini-batch of ``MINIBATCH_SIZE`` distinct experiences, as float32 tensors.

    ``memory_buffer`` is the course's ``deque`` of ``experience`` namedtuples or a
    :class:`lunar.replay.ReplayMemory`. Returns ``(states, actions, rewards,
    next_states, done_vals)``; ``done_vals`` holds 1.0 for terminal transitions.
    Indices come from Python's ``random`` as in the course, seeded with ``SEED``.
    """
    import tensorflow as tf

    from lunar.replay import ReplayMemory, batch_from_deque

    indices = random.sample(range(len(memory_buffer)), k=MINIBATCH_SIZE)
    if isinstance(memory_buffer, ReplayMemory):
        batch = memory_buffer.gather(np.asarray(indices))
    else:
        batch = batch_from_deque(memory_buffer, indices)
    return tuple(tf.convert_to_tensor(x, dtype=tf.float32) for x in batch)


def check_update_conditions(t: int, num_steps_upd: int, memory_buffer: Sequence) -> bool:
    """True every ``num_steps_upd`` time steps, once the memory holds more than a mini-batch."""
    return (t + 1) % num_steps_upd == 0 and len(memory_buffer) > MINIBATCH_SIZE


def get_new_eps(epsilon: float) -> float:
    """``max(E_MIN, E_DECAY * epsilon)``."""
    from lunar.agent import get_new_eps as decay

    return decay(epsilon, E_DECAY, E_MIN)


def get_action(q_values: Any, epsilon: float = 0.0, rng: np.random.Generator | None = None) -> int:
    """Epsilon-greedy: a random action with probability ``epsilon``, else ``argmax Q``.

    ``q_values`` is the network's output for one state, shape ``(1, num_actions)``
    (a tensor or an array). ``rng`` defaults to a generator seeded with ``SEED``.
    """
    from lunar.agent import epsilon_greedy

    return epsilon_greedy(q_values, epsilon, rng if rng is not None else _default_rng())


_rng: np.random.Generator | None = None


def _default_rng() -> np.random.Generator:
    global _rng
    if _rng is None:
        _rng = np.random.default_rng(SEED)
    return _rng


def update_target_network(q_network: Any, target_q_network: Any) -> None:
    """Soft update with ``TAU``: ``w_target <- TAU * w + (1 - TAU) * w_target`` for every weight."""
    from lunar.agent import update_target_network as soft_update

    soft_update(q_network, target_q_network, TAU)


def plot_history(point_history: Sequence[float], filename: Any = None, **kwargs: Any):
    """Returns per episode and their rolling mean; ``filename=...`` saves a PNG (atomically) instead of
    showing it. See :func:`lunar.reports.plotting.plot_history`."""
    from lunar.reports.plotting import learning_curve_png, plot_history as plot
    from lunar.run.atomic import write_bytes

    if filename is None:
        return plot(point_history, **kwargs)
    frame, png = learning_curve_png(point_history, **kwargs)
    write_bytes(filename, png)
    return frame


def create_video(filename: str, env: Any, q_network: Any, fps: int = 30) -> None:
    """Record one greedy episode of ``q_network`` in ``env`` (``render_mode="rgb_array"``)
    to ``filename`` (``.mp4`` or ``.gif``), written atomically."""
    from lunar.commands.video import create_video as record

    record(filename, env, q_network, fps=fps)


def embed_mp4(filename: str):
    """Show an MP4 inline in a notebook."""
    import base64

    from IPython.display import HTML

    with open(filename, "rb") as handle:
        encoded = base64.b64encode(handle.read()).decode()
    return HTML(f'<video width="840" height="480" controls><source src="data:video/mp4;base64,{encoded}" '
                'type="video/mp4"></video>')
