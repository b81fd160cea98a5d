"""A learner's own lab code, trained in the kit's loop (``train.py --notebook``, ``lunar.train(...)``),
and the checks that it fits the environment and the loop before a run starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import keras
import numpy as np

from lunar.errors import UserError

PARTS = ("compute_loss", "q_network", "target_q_network", "optimizer", "agent_learn")


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
    notes: tuple[str, ...] = ()
    """Lines about how the code was loaded (what a loader substituted, which parts it could not use),
    said when the run starts, once every check has passed."""

    def given(self) -> list[str]:
        return [name for name in PARTS if getattr(self, name) is not None]

    def agent_parts(self) -> dict[str, Any]:
        """The parts that replace the kit's in :class:`lunar.agent.DQNAgent` (all but ``agent_learn``)."""
        return {name: getattr(self, name) for name in PARTS[:-1] if getattr(self, name) is not None}


def check_lab_code(code: LabCode, state_size: int, num_actions: int) -> None:
    """UserError unless the learner's parts fit the environment and the kit's loop: both networks
    or neither, each a Dense/ReLU stack with a linear head from ``state_size`` to ``num_actions``,
    a Keras optimizer, a callable ``compute_loss``."""
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


def dense_stack_problem(model: Any, state_size: int, num_actions: int) -> str | None:
    """Why :func:`numpy_forward` cannot stand for ``model`` on these sizes, or None: it must be a
    built Keras model of Dense layers, ReLU between them and a linear head, from ``state_size``
    inputs to ``num_actions`` outputs."""
    if not isinstance(model, keras.Model):
        return f"must be a Keras model, got {type(model).__name__}"
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if not layers or not all(isinstance(layer, keras.layers.Dense) for layer in layers):
        return "the kit acts in numpy on a stack of Dense layers, as in the lab; this model has " + \
            ", ".join(type(layer).__name__ for layer in layers)
    activations = [layer.get_config()["activation"] for layer in layers]
    if any(a != "relu" for a in activations[:-1]) or activations[-1] != "linear":
        return f"needs ReLU hidden layers and a linear output layer, got activations {activations}"
    try:
        out = model(np.zeros((1, state_size), np.float32))
    except Exception as error:  # noqa: BLE001 - any failure: the model does not take these states
        return f"does not take states of size {state_size} ({type(error).__name__})"
    if tuple(out.shape) != (1, num_actions):
        return f"gives {tuple(out.shape)[1:]} outputs for one state, the environment has {num_actions} actions"
    return None
