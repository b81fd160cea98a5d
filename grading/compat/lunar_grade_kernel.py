"""What lunar-grade's kernel changes in the libraries it has, before a submission runs: the names
and spellings the course's notebooks use that today's Gymnasium and Keras 3 dropped.

- ``gymnasium.spaces.Discrete(n).n`` is a Python ``int``, as it was in gym and in Gymnasium before
  1.0: ``Dense(num_actions)`` under Keras 3 refuses a numpy integer (Keras 2 accepted it).
- ``gymnasium.make('LunarLander-v2')`` (and the other ids in :data:`RENAMED`) makes its successor:
  Gymnasium 1.x removed them, and Gymnasium ports of the course kept the v2 id.
- Keras 2's loss names (``from keras.losses import MSE``, ``tf.keras.losses.mean_squared_error``)
  are bound to Keras 3's functions of the same formula.
- ``Adam(lr=...)`` (and every optimizer's ``lr``) is ``learning_rate``, as Keras 2 read it.
- ``Input(8)`` is ``Input(shape=(8,))``, as Keras 2 read it.

Each substitution is noted once in :data:`NOTES`, which the grader prints. Imported by
:mod:`grading.kernel` and by ``train.py --notebook`` (:mod:`grading.lab`) only. See
``grading/compat/README.md``.
"""

from __future__ import annotations

import functools
from typing import Any

NOTES: list[str] = []
RENAMED = {"LunarLander-v2": "LunarLander-v3", "LunarLanderContinuous-v2": "LunarLander-v3",
           "CarRacing-v1": "CarRacing-v3", "FrozenLake-v0": "FrozenLake-v1",
           "Taxi-v2": "Taxi-v3", "CartPole-v0": "CartPole-v1"}
"""gym's ids that Gymnasium 1.x removed, and the successor each is made as."""
KERAS_2_LOSSES = {"mean_squared_error": ("MSE", "mse"), "mean_absolute_error": ("MAE", "mae"),
                  "mean_absolute_percentage_error": ("MAPE", "mape"),
                  "mean_squared_logarithmic_error": ("MSLE", "msle"),
                  "kl_divergence": ("KLD", "kld", "kullback_leibler_divergence"), "log_cosh": ("logcosh",)}
"""Keras 3's loss function -> the names Keras 2's ``keras.losses`` and ``tf.keras.losses`` also had."""
OPTIMIZERS = ("Adam", "SGD", "RMSprop", "Adagrad", "Adamax", "Nadam", "Adadelta", "Ftrl", "AdamW")


def note(text: str) -> None:
    if text not in NOTES:
        NOTES.append(text)


def int_discrete_n() -> None:
    from gymnasium.spaces import Discrete

    original = Discrete.__init__
    if getattr(original, "lunar_grade", False):
        return

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.n = int(self.n)

    __init__.lunar_grade = True
    Discrete.__init__ = __init__


def renamed_ids() -> None:
    import gymnasium
    from gymnasium.envs import registration

    original = registration.make
    if getattr(original, "lunar_grade", False):
        return

    @functools.wraps(original)
    def make(id: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: A002 - Gymnasium's own parameter name
        if isinstance(id, str) and id in RENAMED:
            note(f"make({id!r}) was made as Gymnasium's {RENAMED[id]!r} ({id} is not in Gymnasium 1.x)")
            if id == "LunarLanderContinuous-v2":
                kwargs.setdefault("continuous", True)
            id = RENAMED[id]  # noqa: A001
        return original(id, *args, **kwargs)

    make.lunar_grade = True
    gymnasium.make = registration.make = make


def keras_2_names() -> None:
    import importlib

    import keras

    def modules(names: tuple[str, ...]) -> list[Any]:  # tf.keras's modules load twice, under two names
        return [importlib.import_module(name) for name in names]

    for home in modules(("keras.losses", "keras._tf_keras.keras.losses", "tensorflow.keras.losses")):
        for function, aliases in KERAS_2_LOSSES.items():
            for name in (function, *aliases):
                if not hasattr(home, name) and hasattr(keras.losses, function):
                    setattr(home, name, getattr(keras.losses, function))
    for name in OPTIMIZERS:
        optimizer = getattr(keras.optimizers, name, None)
        if optimizer is not None and not getattr(optimizer.__init__, "lunar_grade", False):
            optimizer.__init__ = _taking_lr(optimizer.__init__, name)
    for home in modules(("keras", "keras.layers", "keras._tf_keras.keras", "keras._tf_keras.keras.layers",
                         "tensorflow.keras", "tensorflow.keras.layers")):
        if not getattr(home.Input, "lunar_grade", False):
            home.Input = _taking_int_shape(home.Input)


def _taking_lr(original: Any, name: str) -> Any:
    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if "lr" in kwargs and "learning_rate" not in kwargs:
            kwargs["learning_rate"] = kwargs.pop("lr")
            note(f"{name}(lr=...) was read as {name}(learning_rate=...), as Keras 2 read it (Keras 3 has no lr)")
        original(self, *args, **kwargs)

    __init__.lunar_grade = True
    return __init__


def _taking_int_shape(original: Any) -> Any:
    @functools.wraps(original)
    def Input(shape: Any = None, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 - Keras' own name
        if isinstance(shape, int) and not isinstance(shape, bool):
            note(f"Input({shape}) was read as Input(shape=({shape},)), as Keras 2 read it")
            shape = (shape,)
        return original(shape, *args, **kwargs)

    Input.lunar_grade = True
    return Input


int_discrete_n()
renamed_ids()
keras_2_names()
