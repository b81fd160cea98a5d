"""The class at a glance: one line per learner, one column per exercise, then the totals.

An exercise's cell is ``pass`` when every row of it passed (Exercise 1's three parts), ``FAIL`` when
one failed, ``error`` when it did not get that far, ``given`` for the course's own code, ``-`` when the
notebook has no such exercise; ``learns`` is the ``--train`` row's; ``notebook`` counts the statements
and cells that failed. Printed on a terminal, written with ``--class-csv``.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Sequence

MARKS = {"passed": "pass", "failed": "FAIL", "error": "error", "given": "given", "skipped": "skipped"}


def exercise_of(row_name: str) -> str:
    """"Exercise 1: q_network" -> "Exercise 1"; other rows keep their name."""
    return row_name.split(":")[0] if row_name.startswith("Exercise ") else row_name


def class_rows(reports: Sequence[Any]) -> tuple[list[str], list[dict[str, str]]]:
    """(columns, one dict per learner): the learner, each exercise's mark, learns, notebook, passed."""
    exercises = sorted({exercise_of(r.exercise) for rep in reports for r in rep.rows
                        if r.exercise.startswith("Exercise ")})
    learns = any(r.exercise == "learns" for rep in reports for r in rep.rows)
    columns = ["learner", *exercises, *(["learns"] if learns else []), "notebook", "passed"]
    lines = []
    for report in reports:
        statuses: dict[str, list[str]] = {}
        for row in report.rows:
            statuses.setdefault(exercise_of(row.exercise), []).append(row.status)
        line = {"learner": report.notebook.stem}
        for name in [*exercises, *(["learns"] if learns else [])]:
            line[name] = _mark(statuses.get(name, []))
        problems = sum(s in ("failed", "error") for key, found in statuses.items()
                       if not key.startswith("Exercise ") and key != "learns" for s in found)
        line["notebook"] = "ok" if not problems else f"{problems} failed"
        passed = sum(line[name] == "pass" for name in exercises)
        line["passed"] = f"{passed} of {sum(line[name] not in ('-', 'given') for name in exercises)}"
        lines.append(line)
    return columns, lines


def _mark(statuses: list[str]) -> str:
    if not statuses:
        return "-"
    for status in ("error", "failed", "skipped", "given"):
        if status in statuses:
            return MARKS[status]
    return "pass"


def totals(columns: list[str], lines: list[dict[str, str]]) -> dict[str, str]:
    """The class's line: how many learners passed each exercise."""
    total = {"learner": f"{len(lines)} learners"}
    for name in columns[1:-2]:
        total[name] = f"{sum(line[name] == 'pass' for line in lines)} pass"
    total["notebook"] = f"{sum(line['notebook'] == 'ok' for line in lines)} ok"
    total["passed"] = ""
    return total


def class_csv(reports: Sequence[Any]) -> str:
    columns, lines = class_rows(reports)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(lines + [totals(columns, lines)])
    return buffer.getvalue()


def print_class(reports: Sequence[Any]) -> None:
    """The class view on the terminal, then each note the grader made, with how many notebooks it concerns."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    columns, lines = class_rows(reports)
    table = Table(title=f"{len(lines)} notebooks", title_justify="left")
    for name in columns:
        table.add_column(name, no_wrap=name != "learner")
    style = {"pass": "green", "FAIL": "red", "error": "red", "given": "cyan", "skipped": "yellow"}
    for line in [*lines, totals(columns, lines)]:
        table.add_row(*[f"[{style[line[c]]}]{line[c]}[/]" if line[c] in style else escape(line[c]) for c in columns])
    Console().print(table)
    counts: dict[str, int] = {}
    for report in reports:
        for note in dict.fromkeys(report.notes):
            counts[note] = counts.get(note, 0) + 1
    for note, count in counts.items():
        print(f"  note ({count} notebook{'s' * (count > 1)}): {note}")
