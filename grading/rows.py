"""Rows a learner can act on: what the grader adds to an exercise's row, and what it takes out.

- A graded cell (``# UNQ_C2``) whose name a later cell defines again: the row says so, and which
  definition it graded (the later one: it is what the notebook runs; ``docs/grading.md``).
- Paths of the teacher's machine (the Python installation, the kit's folder, the home folder) in a
  message become ``<python>``, ``<kit>`` and ``~``: a row is handed back to a learner.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from grading.exercises import EXERCISES, Result
from grading.notebook import Cell

GRADED_MARKER = re.compile(r"#\s*(UNQ_C\d+)")
PLACEHOLDER = re.compile(r"^\s*\w+\s*=\s*None\s*$", re.M)
"""A template's blank in a graded cell: ``y_targets = None``."""


def redefinitions(cells: Sequence[Cell]) -> dict[str, str]:
    """name -> a sentence, for each name a graded cell binds and a later cell binds again."""
    last = {name: cell for cell in cells for s in cell.statements for name in s.binds}
    found = {}
    for cell in cells:
        marker = GRADED_MARKER.search(cell.text)
        if marker is None:
            continue
        for name in dict.fromkeys(n for s in cell.statements for n in s.binds):
            later = last.get(name)
            if later is None or later.number == cell.number:
                continue
            how = "leaves" if PLACEHOLDER.search(cell.text) else "is followed by a new definition of"
            found[name] = (f"the graded cell {marker.group(1)} {how} `{name}`"
                           f"{' unfinished' if how == 'leaves' else ''}; graded its definition in code cell "
                           f"{later.number}")
    return found


def with_redefinitions(results: list[Result], cells: Sequence[Cell]) -> list[Result]:
    """``results`` with each exercise's row saying so when its name was defined again after its graded cell."""
    notes = redefinitions(cells)
    needs = {exercise.name: exercise.needs[0] for exercise in EXERCISES}
    out = []
    for result in results:
        note = notes.get(needs.get(result.exercise, ""))
        out.append(result if note is None else replace(result, message="; ".join(filter(None, [result.message, note]))))
    return out


def learner_facing(message: str) -> str:
    """``message`` without the teacher's paths: this Python's folders, the kit's, the home folder."""
    kit = str(Path(__file__).resolve().parents[1])
    places = {sys.prefix: "<python>", sys.base_prefix: "<python>", sys.exec_prefix: "<python>", kit: "<kit>",
              os.path.expanduser("~"): "~"}
    for path in sorted((p for p in places if p and p != "/"), key=len, reverse=True):
        message = message.replace(path, places[path])
    return re.sub(r"(?:/[^\s/'\"`]+)+/(?:site|dist)-packages/", "<python>/", message)
