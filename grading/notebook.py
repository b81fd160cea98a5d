"""A learner's notebook reduced to what grading runs: each cell's top-level definitions.

What runs, cell by cell, in order: the imports, ``def`` and ``class`` statements and
assignments at the top level of each code cell, **each statement on its own**, so one
failing import or assignment does not take the rest of its cell with it. Loops,
``with``/``if``/``try`` blocks, calls on their own line (``test_network(q_network)``,
``plot(...)``), shell and magic lines do not run, and a cell tagged ``skip-grading`` is
skipped whole. So the graded cells (``# UNQ_C1``, ``# UNQ_C2``, ...), the hyperparameters
and the environment are defined, while the course's training loop never starts. Saved
outputs are never read: a verdict comes from running the code.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

SKIP_TAG = "skip-grading"
KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
        ast.Assign, ast.AnnAssign, ast.AugAssign)


@dataclass(frozen=True)
class Statement:
    """One top-level statement: its source to run, its first line as written, the names it binds."""
    source: str
    first_line: str
    binds: tuple[str, ...]
    node: ast.stmt = field(compare=False, repr=False)


@dataclass(frozen=True)
class Cell:
    """A code cell as grading runs it: ``number`` counts code cells from 1; ``text`` as written."""
    number: int
    statements: tuple[Statement, ...] = ()
    problem: str = ""
    text: str = ""


def _python(source: str) -> str:
    """The cell with IPython syntax (``%magic``, ``!shell``) turned into Python, so it parses."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def statements(source: str) -> tuple[Statement, ...]:
    """The top-level imports, definitions and assignments of a cell. ``SyntaxError`` if it is not Python."""
    text = _python(source)
    lines = text.splitlines()
    kept = []
    for node in ast.parse(text).body:
        if isinstance(node, KEPT):
            first = getattr(node, "decorator_list", None) or [node]
            line = lines[first[0].lineno - 1].strip() if first[0].lineno <= len(lines) else ""
            kept.append(Statement(ast.unparse(node), line[:120], bound_names(node), node))
    return tuple(kept)


def definitions(source: str) -> str:
    """The statements :func:`statements` keeps, as one piece of Python source."""
    return "\n".join(statement.source for statement in statements(source))


def bound_names(node: ast.stmt) -> tuple[str, ...]:
    """The names a top-level statement binds (``*`` for a star import)."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return tuple(alias.asname or alias.name.split(".")[0] for alias in node.names)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return (node.name,)
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return tuple(dict.fromkeys(n.id for t in targets for n in ast.walk(t)
                               if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)))


def graded_cells(notebook: dict) -> list[Cell]:
    """Each code cell of ``notebook`` (nbformat 4) as it will run, or the reason it cannot."""
    cells = []
    raw = notebook.get("cells") if isinstance(notebook, dict) else None
    code_cells = [c for c in raw if isinstance(c, dict) and c.get("cell_type") == "code"] if isinstance(raw, list) else []
    for number, cell in enumerate(code_cells, start=1):
        metadata = cell.get("metadata")
        tags = metadata.get("tags") if isinstance(metadata, dict) else None
        if isinstance(tags, list) and SKIP_TAG in tags:
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        try:
            cells.append(Cell(number, statements(source), text=source))
        except SyntaxError as error:
            cells.append(Cell(number, problem=f"syntax error in code cell {number}, line {error.lineno}: {error.msg}",
                              text=source))
    return cells


class UnreadableNotebook(Exception):
    """A file that is not a notebook whose cells can be read; the message is one line saying why."""


def read_cells(path: Any) -> list[Cell]:
    """The code cells of the notebook file at ``path`` (:func:`graded_cells`): the one reader of
    ``lunar-grade`` and ``train.py --notebook``. :class:`UnreadableNotebook` when it is not JSON, not an
    nbformat 4 notebook, or has no list of cells."""
    import nbformat

    try:
        notebook = nbformat.reads(open(path, encoding="utf-8").read(), as_version=4)
    except Exception as error:  # noqa: BLE001 - whatever the file holds, one line
        lines = str(error).strip().splitlines()
        why = getattr(error, "strerror", None) or (lines[0][:160] if lines else "")
        raise UnreadableNotebook(f"not a readable notebook: {type(error).__name__}: {why}") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise UnreadableNotebook("not a readable notebook: it has no list of cells")
    return graded_cells(notebook)
