"""The Q-network: one factory builds both the Q-network and its target.

``Sequential([Input(state_size), Dense(64, relu), Dense(64, relu), Dense(num_actions, linear)])``
as in the course. :func:`numpy_forward` runs the same network on numpy copies of the
weights: about 8 us for one state against about 2.5 ms for an eager Keras call,
which is why the training loop acts through it.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import keras
import numpy as np


def build_q_network(state_size: int, num_actions: int, hidden_units: int = 64,
                    seed: int | None = None, name: str = "q_network") -> keras.Sequential:
    """``Input(state_size) -> Dense(64, relu) -> Dense(64, relu) -> Dense(num_actions, linear)``.

    ``seed`` makes the Glorot-uniform initial weights repeatable without touching
    any global random state.
    """
    def init(i: int) -> keras.initializers.Initializer:
        return keras.initializers.GlorotUniform(seed=None if seed is None else seed * 7919 + i)

    state_size, num_actions, hidden_units = int(state_size), int(num_actions), int(hidden_units)
    # Fixed layer names make every variable's path (q_network/hidden_1/kernel, and Adam's
    # adam/q_network_hidden_1_kernel_momentum) independent of what else the process built.
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


def greedy_policy(q_network: Any) -> Callable[[np.ndarray], int]:
    """``state -> argmax_a Q(state, a)``; a Keras model runs as numpy, any other callable as is."""
    if hasattr(q_network, "weights") and hasattr(q_network, "layers"):
        arrays = numpy_weights(q_network)
        return lambda state: int(np.argmax(numpy_forward(arrays, np.asarray(state, np.float32))))
    return lambda state: int(np.argmax(np.asarray(q_network(np.expand_dims(state, 0))).reshape(-1)))
