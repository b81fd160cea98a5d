"""Keras networks and optimizers as plain data, and the grader's copies built from it.

A network is described by its class, its input shape, each layer's class, units and
activation name, and its weights (:func:`describe_model`); :func:`build_model` makes a
``keras.Sequential`` of built-in ``Dense`` layers from that, with stand-in layers named
after any other class. Whatever is not a Keras network or optimizer becomes a
:func:`stand_in`: an object whose type has the submission's type name and module, so a
graded test that checks types says what the learner built. No code and no Keras config
ever crosses: a description names classes, it never imports them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grading.wire import ProtocolError, decode_array, encode_array, type_of


LEGACY_KERAS = "tensorflow.python.keras"
"""TensorFlow's private copy of Keras 2: its objects are named in a row, never graded as Keras 3's."""


def is_legacy_keras(value: Any) -> bool:
    return str(getattr(type(value), "__module__", "")).startswith(LEGACY_KERAS)


def is_model(value: Any) -> bool:
    return any(c.__name__ in ("Model", "Sequential") and c.__module__.startswith(("keras", "tf_keras"))
               for c in type(value).__mro__)


def is_optimizer(value: Any) -> bool:
    return any(c.__name__ == "Optimizer" and c.__module__.startswith(("keras", "tf_keras"))
               for c in type(value).__mro__) and not isinstance(value, type)


def describe_model(model: Any) -> dict:
    """``model`` as data: ``{"$": "model", type, input_shape, layers, weights}``."""
    try:
        input_shape = [None if n is None else int(n) for n in model.input_shape]
    except (AttributeError, ValueError, TypeError):
        input_shape = None
    layers = []
    for layer in model.layers:
        activation = getattr(layer, "activation", None)
        layers.append({**type_of(layer), "units": getattr(layer, "units", None),
                       "activation": None if activation is None else
                       str(getattr(activation, "__name__", activation))[:60]})
    return {"$": "model", **type_of(model), "input_shape": input_shape, "layers": layers,
            "weights": encoded_weights(model)}


def encoded_weights(model: Any) -> list[dict]:
    """``model``'s weights as arrays on the wire (what :func:`set_weights` takes back)."""
    return [encode_array(np.asarray(w)) for w in model.get_weights()]


def build_model(description: dict) -> Any:
    """A Keras network from :func:`describe_model`'s data, or a stand-in for another class."""
    import keras

    if description.get("type") != "Sequential" or not str(description.get("module", "")).startswith("keras"):
        return stand_in(description)
    layers = []
    shape = description.get("input_shape")
    if isinstance(shape, list) and shape:
        layers.append(keras.Input(shape=tuple(int(n) for n in shape[1:])))
    for layer in description.get("layers", []):
        if layer.get("type") == "Dense" and str(layer.get("module", "")).startswith("keras"):
            layers.append(keras.layers.Dense(int(layer["units"]), activation=_activation(layer.get("activation"))))
        else:
            layers.append(_layer_stand_in(str(layer.get("type", "Layer")))())
    model = keras.Sequential(layers)
    weights = [decode_array(w) for w in description.get("weights", [])]
    if weights and [w.shape for w in weights] == [tuple(v.shape) for v in model.weights]:
        model.set_weights(weights)
    return model


def set_weights(model: Any, weights: list) -> None:
    arrays = [decode_array(w) for w in weights]
    if [a.shape for a in arrays] != [tuple(v.shape) for v in model.weights]:
        raise ProtocolError("weights that do not fit the network")
    model.set_weights(arrays)


def _activation(name: Any) -> Any:
    import keras

    if isinstance(name, str) and name.isidentifier() and callable(getattr(keras.activations, name, None)):
        return getattr(keras.activations, name)

    def activation(x: Any) -> Any:
        return x

    activation.__name__ = str(name)
    return activation


def _layer_stand_in(name: str) -> type:
    import keras

    def call(self: Any, inputs: Any) -> Any:
        return inputs

    return type(_name(name), (keras.layers.Layer,), {"call": call})


def describe_optimizer(optimizer: Any) -> dict:
    return {"$": "optimizer", **type_of(optimizer), "learning_rate": float(np.asarray(optimizer.learning_rate)),
            "iterations": int(np.asarray(optimizer.iterations))}


def build_optimizer(description: dict) -> Any:
    """A Keras optimizer of the same built-in class and learning rate, else a stand-in."""
    import keras

    name, module = str(description.get("type")), str(description.get("module", ""))
    kind = getattr(keras.optimizers, name, None) if name.isidentifier() and module.startswith("keras") else None
    if not (isinstance(kind, type) and issubclass(kind, keras.optimizers.Optimizer)):
        return stand_in(description)
    optimizer = kind(learning_rate=float(description["learning_rate"]))
    optimizer.iterations.assign(int(description.get("iterations", 0)))
    return optimizer


def stand_in(description: dict) -> Any:
    """An object (or, for ``"class"``, a type) named after the submission's type."""
    kind = type(_name(description.get("type", "object")), (), {
        "__module__": str(description.get("module", ""))[:100],
        "__repr__": lambda self: str(description.get("repr", "<object>")),
    })
    return kind if description.get("$") == "class" else kind()


def known_class(description: dict) -> Any:
    """The Keras class a ``"class"`` value names (``Adam``, ``Sequential``), else a stand-in type."""
    import keras

    name, module = str(description.get("type")), str(description.get("module", ""))
    if name.isidentifier() and module.startswith("keras"):
        for home in (keras.optimizers, keras.layers, keras):
            found = getattr(home, name, None)
            if isinstance(found, type):
                return found
    return stand_in(description)


def _name(text: Any) -> str:
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in str(text))[:60]
    return name if name and not name[0].isdigit() else "_" + name
