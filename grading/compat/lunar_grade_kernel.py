"""What lunar-grade's kernel changes in the libraries it has, before a submission runs.

- ``gymnasium.spaces.Discrete(n).n`` is a Python ``int``, as it was in gym and in
  Gymnasium before 1.0: ``num_actions = env.action_space.n`` then builds ``Dense(num_actions)``
  under Keras 3, which refuses a numpy integer (Keras 2, which the course's platform ran,
  accepted it).

Imported by :mod:`grading.kernel` only. See ``grading/compat/README.md``.
"""

from __future__ import annotations

from typing import Any


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


int_discrete_n()
