"""The lab's exercises and the graded test for each, run on what a notebook defines.

:func:`grade` runs in the grader, never in the submission's kernel: ``namespace`` holds
the grader's copies of the notebook's networks and optimizer and stand-ins for its
functions (:class:`grading.kernel_client.RemoteFunction`). Each exercise whose names the
notebook defines (or must define) is graded by the matching test of ``public_tests``,
and its outcome becomes one :class:`Result`.

``agent_learn`` is given by the course's notebook and graded in the kit's (its ``UNQ_C3``):
where a notebook's ``agent_learn`` is the course's code as given (:data:`COURSE_AGENT_LEARN`,
comments and docstring aside) and not marked graded, its row says "given" and no test
runs; one the learner changed is graded, named "agent_learn (changed from the course's)".
"""

from __future__ import annotations

import ast
import contextlib
import io
from dataclasses import dataclass, replace
from typing import Any, Callable, Collection, Mapping

import public_tests
from grading.kernel_client import KernelStopped
from grading.mirror import is_legacy_keras

COURSE = {"ALPHA": 1e-3, "GAMMA": 0.995, "TAU": 1e-3, "MINIBATCH_SIZE": 64, "E_DECAY": 0.995, "E_MIN": 0.01}


@dataclass(frozen=True)
class Result:
    exercise: str
    status: str  # "passed", "failed", "error", or "given" (the course's code, not graded)
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


COURSE_AGENT_LEARN = """
@tf.function
def agent_learn(experiences, gamma):
    with tf.GradientTape() as tape:
        loss = compute_loss(experiences, gamma, q_network, target_q_network)
    gradients = tape.gradient(loss, q_network.trainable_variables)
    optimizer.apply_gradients(zip(gradients, q_network.trainable_variables))
    utils.update_target_network(q_network, target_q_network)
"""
GIVEN_AGENT_LEARN = "agent_learn (given by the course)"
CHANGED_AGENT_LEARN = "agent_learn (changed from the course's)"


def constants(values: Mapping[str, Any]) -> dict[str, float]:
    """The notebook's hyperparameters, else its ``utils`` module's (``"utils.ALPHA"``), else the course's."""
    found = {}
    for name, default in COURSE.items():
        value = values.get(name, values.get(f"utils.{name}", default))
        found[name] = value if isinstance(value, (int, float)) and not isinstance(value, bool) else default
    return found


def is_course_agent_learn(node: ast.stmt | None) -> bool:
    """True when ``node`` is the course's given ``agent_learn``, docstring and comments aside."""
    if not isinstance(node, ast.FunctionDef):
        return False
    return _shape(node) == _shape(ast.parse(COURSE_AGENT_LEARN).body[0])


def _shape(node: ast.FunctionDef) -> str:
    body = node.body[1:] if node.body and isinstance(node.body[0], ast.Expr) and \
        isinstance(getattr(node.body[0], "value", None), ast.Constant) else node.body
    return ast.dump(ast.Module(body=[*node.decorator_list, *body], type_ignores=[]))


LEGACY_MESSAGE = ("{} comes from tensorflow.python.keras, TensorFlow's private copy of Keras 2, which the course's "
                  "tests do not take: import Sequential from tensorflow.keras, Dense and Input from "
                  "tensorflow.keras.layers and Adam from tensorflow.keras.optimizers, as the course's notebook does")


def grade(namespace: Mapping[str, Any], values: Mapping[str, Any], own: Collection[str],
          undefined: Mapping[str, str] | None = None, agent_learn: str = "exercise",
          only: Collection[str] | None = None) -> list[Result]:
    """Run every exercise that applies to ``namespace`` (only those named in ``only``, if given).

    ``values``: the notebook's numbers (for :func:`constants`); ``own``: the names of the
    notebook's own functions; ``undefined``: for a name whose statement failed, why;
    ``agent_learn``: ``"exercise"`` (the kit's Exercise 3), ``"given"`` (the course's code as
    given: not graded) or ``"changed"`` (the course's, changed by the learner: graded under that name).
    """
    numbers, undefined = constants(values), undefined or {}
    results = []
    for exercise in EXERCISES:
        if only is not None and exercise.name not in only:
            continue
        if not exercise.required and exercise.needs[0] not in own:
            continue
        if exercise.needs[0] == "agent_learn" and agent_learn == "given":
            results.append(Result(GIVEN_AGENT_LEARN, "given", "the course's own code: not graded"))
            continue
        if exercise.needs[0] == "agent_learn" and agent_learn == "changed":
            exercise = replace(exercise, name=CHANGED_AGENT_LEARN)
        legacy = [name for name in exercise.needs if is_legacy_keras(namespace.get(name))]
        if legacy:
            results.append(Result(exercise.name, "failed", LEGACY_MESSAGE.format(", ".join(legacy))))
            continue
        missing = [name for name in exercise.needs if name not in namespace]
        if missing:
            why = "; ".join(undefined[name] for name in missing if name in undefined)
            results.append(Result(exercise.name, "failed", f"not defined: {', '.join(missing)}"
                                  + (f" ({why})" if why else "")))
            continue
        results.append(_run(exercise, namespace, numbers))
    return results


def _run(exercise: Exercise, namespace: Mapping[str, Any], values: Mapping[str, float]) -> Result:
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exercise.run(namespace, values)
    except AssertionError as error:
        return Result(exercise.name, "failed", str(error) or "a check failed")
    except KernelStopped as error:
        return Result(exercise.name, "error", f"the notebook's kernel stopped: {error}")
    except Exception as error:  # noqa: BLE001 - the learner's code may raise anything
        return Result(exercise.name, "failed", f"{type(error).__name__}: {_first_line(error)}")
    return Result(exercise.name, "passed")


def _first_line(error: BaseException) -> str:
    """The line that says what went wrong: TensorFlow puts it last, after "in user code:"."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return ""
    return lines[-1] if lines[0] == "in user code:" else lines[0]
