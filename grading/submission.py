"""Grade one notebook: its definitions in a sandboxed kernel, its graded tests in the grader.

The kernel (:mod:`grading.kernel`, started by :mod:`grading.sandbox`) runs the notebook's
statements (:mod:`grading.notebook`) and nothing else of the grader's. The grader then
reads the names the exercises need as data, builds its own copies of the networks and the
optimizer, and runs each graded test here, calling the notebook's functions in the kernel
(:mod:`grading.kernel_client`). So nothing the submission runs, at the top level or inside its
functions, can reach the tests or the verdicts: at worst it answers a call wrongly.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from grading import exercises, mirror
from grading.exercises import Result
from grading.notebook import Cell, UnreadableNotebook, read_cells
from grading.kernel_client import KernelClient, KernelStopped, RemoteFunction
from grading.sandbox import Limits, make_folder, start
from grading.learns import learns_row
from grading.rows import learner_facing, with_redefinitions

NAME_ERROR = re.compile(r"name '([^']+)' is not defined")
DESCRIBE_SECONDS = 60.0


@dataclass(frozen=True)
class Options:
    cell_timeout: float = 120.0
    limits: Limits = Limits()
    isolation: str = "none"
    train_episodes: int = 0
    """``lunar-grade --train``: episodes of the kit's loop for the "learns" row (0: no such row)."""
    train_seed: int = 0


@dataclass
class Report:
    notebook: Path
    rows: list[Result] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def grade_notebook(path: Path, options: Options) -> Report:
    """Every row for ``path``: a ``notebook`` row per failed statement or cell, then one per exercise."""
    from lunar.run.tfsetup import import_tensorflow_quietly

    import_tensorflow_quietly()  # the graded tests' TensorFlow, without its CUDA probe's log on the teacher's screen
    started = time.perf_counter()
    report = Report(path)
    try:
        cells = read_cells(path)
    except UnreadableNotebook as error:  # any unreadable file is one row
        report.rows.append(Result("notebook", "error", str(error)))
        return report
    report.rows += [Result("notebook", "error", cell.problem) for cell in cells if cell.problem]
    folder = make_folder(path)
    try:  # the folder goes however this ends, a Ctrl-C while the kernel starts included
        kernel = KernelClient(start(folder, options.limits, options.isolation), options.limits, folder)
        try:
            undefined = run_cells(kernel, cells, options, report)
            if options.train_episodes:
                keep_as_defined(kernel)
            report.rows += graded(kernel, cells, undefined, options)
            if options.train_episodes:
                report.rows.append(learns_row(kernel, report.rows, options.train_episodes, options.train_seed,
                                              float(options.limits.cpu_seconds)))
        finally:
            kernel.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        report.seconds = time.perf_counter() - started
        report.rows = [replace(row, message=learner_facing(row.message)) for row in report.rows]
    return report


def keep_as_defined(kernel: KernelClient) -> None:
    """``--train``: the kernel keeps its lab code's state before the graded tests change it; a kernel
    that stopped is reported by the tests' own request."""
    try:
        kernel.request({"op": "snapshot"}, DESCRIBE_SECONDS)
    except KernelStopped:
        pass


def run_cells(kernel: KernelClient, cells: list[Cell], options: Options, report: Report) -> dict[str, str]:
    """Run each cell's statements; a row per failure, once per cause. Returns why each failed name is unbound."""
    undefined: dict[str, str] = {}
    for cell in cells:
        if not cell.statements:
            continue
        try:
            reply = kernel.run_cell([s.source for s in cell.statements], options.cell_timeout)
        except KernelStopped as error:
            report.rows.append(Result("notebook", "error", stopped_message(cell, str(error), options)))
            break
        errors = {int(e["index"]): e for e in reply.get("errors", []) if isinstance(e, dict)}
        report.notes += [str(note) for note in reply.get("notes", [])]
        for index, statement in enumerate(cell.statements):
            error = errors.get(index)
            if error is None:
                for name in statement.binds:
                    undefined.pop(name, None)
                continue
            missing = NAME_ERROR.search(str(error.get("message", "")))
            cause = undefined.get(missing.group(1)) if error.get("type") == "NameError" and missing else None
            if cause is None:
                cause = failure_message(cell, statement.first_line, error, options)
                report.rows.append(Result("notebook", "error", cause))
            undefined.update({name: cause for name in statement.binds})
            if error.get("type") == "timeout":
                break
    return undefined


def failure_message(cell: Cell, line: str, error: dict, options: Options) -> str:
    limits = options.limits
    where = f"code cell {cell.number}: `{line}`"
    if error.get("type") == "timeout":
        return time_limit_message(cell, options)
    reached = {"memory": f"hit the memory limit ({limits.memory_mb} MiB)",
               "file_size": f"hit the file-size limit ({limits.file_size_mb} MiB)",
               "processes": f"hit the process limit ({limits.processes})"}.get(str(error.get("limit")))
    if reached:
        return f"{where} {reached}"
    text = str(error.get("message", "")).strip().splitlines()
    return f"{where} raised {error.get('type', 'Error')}: {text[0] if text else ''}".rstrip(": ")


def time_limit_message(cell: Cell, options: Options) -> str:
    return f"code cell {cell.number} ran past the time limit ({options.cell_timeout:g} s) and was stopped"


def stopped_message(cell: Cell, reason: str, options: Options) -> str:
    if reason == "timeout":
        return time_limit_message(cell, options)
    return f"code cell {cell.number}: {reason}; the cells after it did not run"


def graded(kernel: KernelClient, cells: list[Cell], undefined: dict[str, str], options: Options) -> list[Result]:
    """The exercises' rows: the names they need read from the kernel, the tests run here."""
    names = sorted({n for e in exercises.EXERCISES for n in e.needs})
    constants = [*exercises.COURSE, *(f"utils.{n}" for n in exercises.COURSE)]
    try:
        described = kernel.describe(names + constants, DESCRIBE_SECONDS)
        namespace, values, functions, own = {}, {}, [], set()
        for name, tagged in described.items():
            kind = tagged.get("$") if isinstance(tagged, dict) else None
            if kind == "missing":
                continue
            if name in constants:
                values[name] = kernel.decode_value(tagged)
            elif kind == "function":
                functions.append(name)
                own.update([name] if tagged.get("own") else [])
            else:
                namespace[name] = kernel.decode_value(tagged)
    except KernelStopped as error:
        return [Result("grading", "error", f"the graded tests did not run: the notebook's kernel stopped: {error}")]
    except Exception as error:  # noqa: BLE001 - a description that does not build is the kernel's fault
        return [Result("grading", "error", f"the graded tests did not run: {type(error).__name__}: {error}")]
    models = {n: v for n, v in namespace.items() if n in ("q_network", "target_q_network") and mirror.is_model(v)}
    for name in functions:
        synced = models if name == "agent_learn" else {}
        namespace[name] = RemoteFunction(kernel, name, options.cell_timeout, synced)
    return with_redefinitions(exercises.grade(namespace, values, own, undefined, agent_learn_role(cells)), cells)


def agent_learn_role(cells: list[Cell]) -> str:
    """``"exercise"`` where the cell defining ``agent_learn`` is marked graded (the kit's ``UNQ_C3``) or
    none does; else ``"given"`` when it is the course's code as given, ``"changed"`` when it is not."""
    last = None
    for cell in cells:
        for statement in cell.statements:
            if "agent_learn" in statement.binds:
                last = cell, statement
    if last is None or "UNQ_C3" in last[0].text or "GRADED FUNCTION: agent_learn" in last[0].text:
        return "exercise"
    return "given" if exercises.is_course_agent_learn(last[1].node) else "changed"
