"""``lunar-grade NOTEBOOK.ipynb [MORE ...]``: grade learners' lab notebooks with the graded tests.

Each notebook runs in its own fresh Jupyter kernel without its training loop (only
imports, definitions and assignments run; a cell tagged skip-grading is skipped), then
every graded test that applies runs: the networks, the optimizer, compute_loss and
agent_learn always; update_target_network, get_action, get_new_eps,
check_update_conditions and get_experiences when the notebook defines its own.
A folder stands for the notebooks in it. Exit 0 when everything passes, 1 when a test
fails or a notebook does not run, 2 for bad input (nothing is written then).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

from grading.exercises import Result
from lunar.cli import OneLineParser

EXIT_PASSED, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
COLUMNS = ("notebook", "exercise", "status", "message")


def positive_seconds(text: str) -> float:
    value = float(text) if text.replace(".", "", 1).isdigit() else -1.0
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds between 0 and 86400")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="lunar-grade", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK",
                        help="a .ipynb file, or a folder of them")
    parser.add_argument("--csv", type=Path, metavar="FILE", help="also write one row per notebook and exercise")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the rows as a JSON list")
    parser.add_argument("--cell-timeout", type=positive_seconds, default=120.0, metavar="SECONDS",
                        help="time limit for each cell (default: 120)")
    parser.add_argument("--quiet", action="store_true", help="print only the summary line")
    return parser


def notebooks_from(paths: Sequence[Path]) -> list[Path]:
    """The notebooks named, folders expanded (sorted); ``ValueError`` for a bad name."""
    found = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.glob("*.ipynb") if p.is_file())
            if not inside:
                raise ValueError(f"no .ipynb notebook in folder {path}")
            found.extend(inside)
        elif not path.is_file():
            raise ValueError(f"no such notebook: {path}")
        elif path.suffix != ".ipynb":
            raise ValueError(f"not a notebook (.ipynb): {path}")
        else:
            found.append(path)
    return found


def check_targets(*targets: Path | None) -> None:
    """``ValueError`` unless each output file can be written: checked before any grading."""
    for target in targets:
        if target is None:
            continue
        if target.is_dir():
            raise ValueError(f"{target} is a folder, not a file")
        folder = target.parent if str(target.parent) else Path(".")
        if not folder.is_dir():
            raise ValueError(f"folder {folder} does not exist (for {target})")


def rows_csv(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def print_table(notebook: Path, results: list[Result], seconds: float) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{notebook} ({seconds:.0f} s)", title_justify="left")
    for column in ("exercise", "result", "message"):
        table.add_column(column, overflow="fold")
    style = {"passed": "green", "failed": "red", "error": "red"}
    for result in results:
        table.add_row(result.exercise, f"[{style[result.status]}]{result.status}[/]", result.message)
    Console().print(table)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        notebooks = notebooks_from(args.notebooks)
        check_targets(args.csv, args.json)
        import nbclient  # noqa: F401 - the grader's own dependency, checked before any work
    except ImportError:
        print("lunar-grade: error: needs nbclient and ipykernel: pip install -e \".[dev]\"", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ValueError as error:
        print(f"lunar-grade: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    from grading.notebook import grade_notebook
    from lunar.atomic import atomic_path

    rows = []
    for notebook in notebooks:
        start = time.perf_counter()
        results = grade_notebook(notebook, args.cell_timeout)
        if not args.quiet:
            print_table(notebook, results, time.perf_counter() - start)
        rows += [{"notebook": str(notebook), **asdict(result)} for result in results]
    for target, text in ((args.csv, rows_csv(rows) if args.csv else ""),
                         (args.json, json.dumps(rows, indent=1) if args.json else "")):
        try:
            if target is not None:
                with atomic_path(target) as temporary:
                    temporary.write_text(text, encoding="utf-8")
        except OSError as error:
            print(f"lunar-grade: error: could not write {target}: {error.strerror or error}", file=sys.stderr)
            return EXIT_BAD_INPUT
    failed = sum(row["status"] != "passed" for row in rows)
    print(f"{len(notebooks)} notebook(s), {len(rows) - failed} passed, {failed} failed or not run")
    return EXIT_FAILED if failed else EXIT_PASSED

