"""What a teacher hands back: one feedback file per notebook, and Gradescope's ``results.json``.

``--feedback DIR`` writes ``DIR/<notebook>.md``: each exercise's verdict and message, the statements
that failed, and what the grader substituted, in one self-contained Markdown file, written atomically.
``--gradescope FILE`` writes Gradescope's autograder result for one submission (its published format:
a score and a ``max_score`` per test, with output; ``docs/grading.md`` says how to run the kit there).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

POINTS = 1.0
"""Each exercise row is worth one point in ``results.json``; a teacher rescales on Gradescope."""


def feedback_markdown(report: Any) -> str:
    """A learner's feedback: the verdicts, the failed statements and the substitutions, as Markdown."""
    exercises = [r for r in report.rows if r.exercise.startswith("Exercise ") or r.exercise == "learns"]
    others = [r for r in report.rows if r not in exercises and r.status in ("failed", "error")]
    given = [r for r in report.rows if r.status == "given"]
    passed = sum(r.status == "passed" for r in exercises)
    lines = [f"# Feedback: {report.notebook.name}", "",
             f"{passed} of {len(exercises)} graded parts passed.", "", "| part | verdict | what to look at |",
             "|---|---|---|"]
    lines += [f"| {_cell(r.exercise)} | {r.status} | {_cell(r.message) or '-'} |" for r in exercises]
    if others:
        lines += ["", "## Statements that did not run", ""] + [f"- {_cell(r.message)}" for r in others]
    if given:
        lines += ["", "## Not graded", ""] + [f"- {_cell(r.exercise)}: {_cell(r.message)}" for r in given]
    if report.notes:
        lines += ["", "## What the grader substituted", ""] + [f"- {_cell(n)}" for n in dict.fromkeys(report.notes)]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def feedback_name(report: Any, taken: set[str]) -> str:
    """``<notebook stem>.md``, numbered when two notebooks of the class share a stem."""
    name, n = f"{report.notebook.stem}.md", 2
    while name in taken:
        name, n = f"{report.notebook.stem}-{n}.md", n + 1
    taken.add(name)
    return name


def gradescope_results(report: Any) -> str:
    """Gradescope's ``results.json`` for one submission: a test per graded row, one point each."""
    tests = [{"name": r.exercise, "score": POINTS if r.status == "passed" else 0.0, "max_score": POINTS,
              "status": "passed" if r.status == "passed" else "failed", "output": r.message or r.status}
             for r in report.rows if r.exercise.startswith("Exercise ") or r.exercise == "learns"]
    problems = [r.message for r in report.rows if r not in tests and r.status in ("failed", "error")
                and not (r.exercise.startswith("Exercise ") or r.exercise == "learns")]
    output = "\n".join([*problems, *(f"note: {n}" for n in dict.fromkeys(report.notes))])
    return json.dumps({"score": sum(t["score"] for t in tests), "output": output, "tests": tests}, indent=1) + "\n"


def write_feedback(reports: list[Any], folder: Path) -> list[Path]:
    """One feedback file per report in ``folder`` (made if missing), each written atomically."""
    from lunar.run.atomic import write_text

    taken: set[str] = set()
    return [write_text(folder / feedback_name(report, taken), feedback_markdown(report)) for report in reports]
