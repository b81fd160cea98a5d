"""Run a learner's notebook in a Jupyter kernel without its training loop, then grade it.

What runs, cell by cell, in order: the imports, ``def`` and ``class`` statements and
assignments at the top level of each code cell. Loops, ``with``/``if``/``try`` blocks,
calls on their own line (``test_network(q_network)``, ``plot(...)``), shell and magic
lines do not run, and a cell tagged ``skip-grading`` is skipped whole. So the graded
cells (``# UNQ_C1``, ``# UNQ_C2``, ...), the hyperparameters and the environment are
defined, while the course's training loop (a ``for`` over episodes) never starts. Each
cell has a time limit as a safety net; a cell that fails or times out becomes a row.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from grading.exercises import Result

SKIP_TAG = "skip-grading"
MARKER = "LUNAR_GRADE_RESULTS:"
KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
        ast.Assign, ast.AnnAssign, ast.AugAssign)
GRADING_CELL = f"""import json as _lunar_json
from grading.exercises import grade as _lunar_grade
print({MARKER!r} + _lunar_json.dumps(_lunar_grade(globals())))"""


@dataclass(frozen=True)
class Cell:
    """A code cell reduced to what grading runs: ``number`` counts code cells from 1."""
    number: int
    source: str
    problem: str = ""


def definitions(source: str) -> str:
    """The top-level imports, definitions and assignments of a cell, as Python source.

    IPython syntax (``%magic``, ``!shell``) is translated first, so it parses, then dropped.
    Raises ``SyntaxError`` when the cell is not valid Python.
    """
    from IPython.core.inputtransformer2 import TransformerManager

    tree = ast.parse(TransformerManager().transform_cell(source))
    kept = [node for node in tree.body if isinstance(node, KEPT)]
    return ast.unparse(ast.Module(body=kept, type_ignores=[])) if kept else ""


def graded_cells(notebook: dict) -> list[Cell]:
    """Each code cell of ``notebook`` (nbformat 4) as it will run, or the reason it cannot."""
    cells = []
    code_cells = [c for c in notebook.get("cells", []) if c.get("cell_type") == "code"]
    for number, cell in enumerate(code_cells, start=1):
        if SKIP_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        try:
            cells.append(Cell(number, definitions(source)))
        except SyntaxError as error:
            cells.append(Cell(number, "", f"syntax error in code cell {number}, line {error.lineno}: {error.msg}"))
    return cells


def grade_notebook(path: Path, cell_timeout: float) -> list[Result]:
    """Run the definitions of ``path`` in a fresh kernel, then every graded test that applies.

    A notebook that cannot be read, a cell with a syntax error, a cell that raises or
    runs past ``cell_timeout`` seconds each give a ``notebook`` row; the exercises are
    graded on whatever the other cells defined.
    """
    import nbformat
    from nbclient import NotebookClient

    try:
        notebook = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    except Exception as error:  # noqa: BLE001 - any unreadable file is one row
        return [Result("notebook", "error", f"not a readable notebook: {type(error).__name__}: {error}")]
    cells = graded_cells(notebook)
    rows = [Result("notebook", "error", cell.problem) for cell in cells if cell.problem]
    runnable = [cell for cell in cells if cell.source]
    run = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c.source) for c in runnable]
                                   + [nbformat.v4.new_code_cell(GRADING_CELL)])
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    client = NotebookClient(run, timeout=cell_timeout, kernel_name="python3", allow_errors=True,
                            interrupt_on_timeout=True, resources={"metadata": {"path": str(path.parent.resolve())}})
    try:
        client.execute(stderr=subprocess.DEVNULL)  # TensorFlow's start-up log is noise here
    except Exception as error:  # noqa: BLE001 - a kernel that dies is one row, not a crash
        return rows + [Result("notebook", "error", f"the kernel failed: {type(error).__name__}: {error}")]
    rows += [_cell_error(cell, executed) for cell, executed in zip(runnable, run.cells) if _error(executed)]
    return rows + _results(run.cells[-1])


def _error(cell: dict) -> dict | None:
    return next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)


def _cell_error(cell: Cell, executed: dict) -> Result:
    error = _error(executed)
    name, value = error.get("ename", "Error"), error.get("evalue", "")
    if name == "KeyboardInterrupt":
        return Result("notebook", "error", f"code cell {cell.number} ran past the time limit and was stopped")
    return Result("notebook", "error", f"code cell {cell.number} raised {name}: {value.splitlines()[0] if value else ''}")


def _results(cell: dict) -> list[Result]:
    for output in cell.get("outputs", []):
        for line in output.get("text", "").splitlines():
            if line.startswith(MARKER):
                return [Result(**row) for row in json.loads(line[len(MARKER):])]
    error = _error(cell)
    reason = f"{error.get('ename')}: {error.get('evalue')}" if error else "no results"
    return [Result("grading", "error", f"the graded tests did not run: {reason}")]
