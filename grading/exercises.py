"""The lab's exercises and the graded test for each, run on what a notebook defines.

:func:`grade` runs inside the learner's kernel, on the notebook's global names: each
exercise whose names the notebook defines (or must define) is graded by the matching
test of ``public_tests``, and its outcome becomes one :class:`Result`.
"""

from __future__ import annotations

import contextlib
import io
import types
from dataclasses import asdict, dataclass
from typing import Any, Callable, Mapping

import public_tests

COURSE = {"ALPHA": 1e-3, "GAMMA": 0.995, "TAU": 1e-3, "MINIBATCH_SIZE": 64, "E_DECAY": 0.995, "E_MIN": 0.01}


@dataclass(frozen=True)
class Result:
    exercise: str
    status: str  # "passed", "failed" or "error"
    message: str = ""


@dataclass(frozen=True)
class Exercise:
    """One graded exercise: the names it needs and how to call its test on them.

    ``required``: graded even when the notebook lacks it (then it fails as "not defined");
    otherwise (the course's helpers) graded only when the notebook defines its own.
    """
    name: str
    needs: tuple[str, ...]
    run: Callable[[Mapping[str, Any], Mapping[str, float]], None]
    required: bool = True


EXERCISES = (
    Exercise("Exercise 1: q_network", ("q_network",), lambda g, c: public_tests.test_network(g["q_network"])),
    Exercise("Exercise 1: target_q_network", ("target_q_network",),
             lambda g, c: public_tests.test_network(g["target_q_network"])),
    Exercise("Exercise 1: optimizer", ("optimizer",), lambda g, c: public_tests.test_optimizer(g["optimizer"],
                                                                                             c["ALPHA"])),
    Exercise("Exercise 2: compute_loss", ("compute_loss",),
             lambda g, c: public_tests.test_compute_loss(g["compute_loss"])),
    Exercise("Exercise 3: agent_learn", ("agent_learn", "q_network", "target_q_network", "optimizer"),
             lambda g, c: public_tests.test_agent_learn(g["agent_learn"], g["q_network"], g["target_q_network"],
                                                        g["optimizer"], c["GAMMA"], c["TAU"], c["ALPHA"])),
    Exercise("helper: update_target_network", ("update_target_network",),
             lambda g, c: public_tests.test_update_target_network(g["update_target_network"], c["TAU"]), False),
    Exercise("helper: get_action", ("get_action",),
             lambda g, c: public_tests.test_get_action(g["get_action"]), False),
    Exercise("helper: get_new_eps", ("get_new_eps",),
             lambda g, c: public_tests.test_get_new_eps(g["get_new_eps"], c["E_DECAY"], c["E_MIN"]), False),
    Exercise("helper: check_update_conditions", ("check_update_conditions",),
             lambda g, c: public_tests.test_check_update_conditions(g["check_update_conditions"],
                                                                    int(c["MINIBATCH_SIZE"])), False),
    Exercise("helper: get_experiences", ("get_experiences",),
             lambda g, c: public_tests.test_get_experiences(g["get_experiences"], int(c["MINIBATCH_SIZE"])), False),
)


def constants(namespace: Mapping[str, Any]) -> dict[str, float]:
    """The notebook's hyperparameters, else its ``utils`` module's, else the course's."""
    utils = namespace.get("utils")
    found = {}
    for name, default in COURSE.items():
        value = namespace.get(name, getattr(utils, name, default) if isinstance(utils, types.ModuleType) else default)
        found[name] = value if isinstance(value, (int, float)) and not isinstance(value, bool) else default
    return found


def _own_function(namespace: Mapping[str, Any], name: str) -> bool:
    """True when ``name`` is a function the notebook itself defined (not imported)."""
    value = namespace.get(name)
    return callable(value) and getattr(value, "__module__", None) == "__main__"


def grade(namespace: Mapping[str, Any]) -> list[dict[str, str]]:
    """Run every exercise that applies to ``namespace``; the rows as plain dictionaries."""
    values = constants(namespace)
    results = []
    for exercise in EXERCISES:
        if not exercise.required and not _own_function(namespace, exercise.needs[0]):
            continue
        missing = [name for name in exercise.needs if name not in namespace]
        if missing:
            results.append(Result(exercise.name, "failed", f"not defined: {', '.join(missing)}"))
            continue
        results.append(_run(exercise, namespace, values))
    return [asdict(result) for result in results]


def _run(exercise: Exercise, namespace: Mapping[str, Any], values: Mapping[str, float]) -> Result:
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exercise.run(namespace, values)
    except AssertionError as error:
        return Result(exercise.name, "failed", str(error) or "a check failed")
    except Exception as error:  # noqa: BLE001 - the learner's code may raise anything
        return Result(exercise.name, "failed", f"{type(error).__name__}: {_first_line(error)}")
    return Result(exercise.name, "passed")


def _first_line(error: BaseException) -> str:
    """The line that says what went wrong: TensorFlow puts it last, after "in user code:"."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return ""
    return lines[-1] if lines[0] == "in user code:" else lines[0]
