"""A learner's lab notebook trained in the kit's loop: ``python train.py --notebook my_lab.ipynb``.

The notebook's top-level definitions run in this process by lunar-grade's rule
(:mod:`grading.notebook`: imports, definitions and assignments, each statement on its
own, the course's loop never), with the kernel's compatibility layer (``grading/compat``:
``import gym``, ``pyvirtualdisplay``) on the path while they run. It is the learner's own
code on their own machine, so it runs here, not in lunar-grade's sandbox: its functions
must be real TensorFlow functions for the kit's compiled update to call them.

The graded tests of what it defines (Exercises 1 and 2) run before any training; a part
that fails them is refused with the test's message unless ``--force``.
"""

from __future__ import annotations

import contextlib
import io
import linecache
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from lunar.errors import UserError

if TYPE_CHECKING:  # lunar.run.lab_code imports Keras: train.py imports this module before its quiet import
    from lunar.run.lab_code import LabCode

PARTS = ("compute_loss", "q_network", "target_q_network", "optimizer")
COMPAT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "compat")
COMPAT_MODULES = ("gym", "pyvirtualdisplay", "lunar_grade_kernel")


def notebook_namespace(path: Path, seed: int = 0) -> tuple[dict[str, Any], list[str], list[str]]:
    """The notebook's definitions, run here: (namespace, one line per statement that failed, one line per
    substitution of the compatibility layer, ``grading/compat``).

    Keras' random seed is set to ``seed`` first: the course's ``tf.random.set_seed(utils.SEED)`` is
    a call, which the definitions rule leaves out, and the networks' first weights must repeat.
    """
    import keras

    from grading.notebook import UnreadableNotebook, read_cells

    try:
        cells = read_cells(path)
    except UnreadableNotebook as error:
        raise UserError(f"--notebook {path}: {error}") from None
    namespace: dict[str, Any] = {"__name__": "__lab__"}
    failures = []
    keras.utils.set_random_seed(seed)
    sys.path.insert(0, COMPAT)
    try:
        import lunar_grade_kernel  # the course's gym ids and Keras 2 names, as lunar-grade's kernel has them
        for cell in cells:
            failures += [cell.problem] if cell.problem else []
            for index, statement in enumerate(cell.statements):
                name = f"<code cell {cell.number}, statement {index + 1}>"
                # in the line cache, as IPython does: inspect (and so TensorFlow's AutoGraph) finds the source
                linecache.cache[name] = (len(statement.source), None, statement.source.splitlines(True), name)
                try:
                    with contextlib.redirect_stdout(io.StringIO()):
                        exec(compile(statement.source, name, "exec"), namespace)
                except Exception as error:  # noqa: BLE001 - the learner's code may raise anything
                    failures.append(f"code cell {cell.number}: ``{statement.first_line}`` raised "
                                    f"{type(error).__name__}: {str(error).splitlines()[0][:120] if str(error) else ''}")
        notes = list(lunar_grade_kernel.NOTES)
    finally:
        sys.path.remove(COMPAT)
        for name in COMPAT_MODULES:  # gone from the import system again; the namespace keeps what it bound
            sys.modules.pop(name, None)
    return namespace, failures, notes


def lab_code_from(path: Path, force: bool, message: Any = print, seed: int = 0,
                  agent_learn: bool = False) -> "LabCode":
    """The notebook's ``compute_loss``, networks and optimizer (those it defines), after their graded tests;
    with ``agent_learn``, its own ``agent_learn`` too, which needs all four (its graded test is not run
    here: it sets the networks' weights and steps the optimizer; ``lunar-grade`` grades it)."""
    from grading import exercises
    from lunar.run.lab_code import LabCode

    namespace, failures, substituted = notebook_namespace(path, seed)
    notes = [f"note: {text}" for text in substituted]
    given = [name for name in PARTS if name in namespace]
    if not given:
        why = f" ({failures[0]})" if failures else ""
        raise UserError(f"--notebook {path} defines none of {', '.join(PARTS)}{why}")
    unused = [name for name in PARTS if name not in namespace]
    if unused:
        why = next((f for f in failures if any(name in f for name in unused)), "the notebook does not define them")
        notes.append(f"note: your {', '.join(unused)} could not be used ({why}): the kit's own train in their place")
    values = {k: v for k, v in namespace.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    tests = {f"Exercise {2 if name == 'compute_loss' else 1}: {name}" for name in given}
    failed = [r for r in exercises.grade(namespace, values, own=(), only=tests) if r.status != "passed"]
    if failed and not force:
        first = failed[0]
        raise UserError(f"{first.exercise} fails its graded test: {first.message} (--force trains it anyway)")
    for result in failed:
        message(f"note: {result.exercise} fails its graded test, trained anyway (--force): {result.message}")
    if agent_learn:
        lacking = [name for name in ("agent_learn", *PARTS) if namespace.get(name) is None]
        if lacking:
            raise UserError(f"--agent-learn: the notebook's agent_learn needs its own {', '.join(lacking)}, "
                            "which it does not define")
        return LabCode(**{name: namespace[name] for name in PARTS}, agent_learn=namespace["agent_learn"],
                       notes=tuple(notes))
    parts = {name: namespace.get(name) for name in PARTS}
    if (parts["q_network"] is None) != (parts["target_q_network"] is None):  # one network of the notebook's
        notes.append("note: the notebook defines one of q_network and target_q_network: the kit's two train instead")
        parts.update(q_network=None, target_q_network=None)
    return LabCode(**parts, notes=tuple(notes))


def train_main(argv: Sequence[str] | None = None) -> int:
    """``python train.py`` and ``lunar-train``, with ``--notebook`` able to load a lab notebook."""
    from lunar.commands.cli import train_main as kit_train_main

    return kit_train_main(argv, lab_code_from=lab_code_from)
