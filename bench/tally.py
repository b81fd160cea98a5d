"""What the two attack benches (``stress.py``, ``hostile.py``) write: every trial in a CSV, and a
Markdown page that opens with the command, the machine and the time, then how many held by group."""

from __future__ import annotations

import csv
import datetime
import os
import platform
from pathlib import Path
from typing import Callable


def write_trials_csv(path: Path, log: list[dict]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(log[0]))
        writer.writeheader()
        writer.writerows(log)


def page_head(title: str, script: str, wall: float, note: str = "") -> list[str]:
    """The page's title (with today's date) and the line saying what ran where, and for how long."""
    return [f"# {title} ({datetime.date.today()})", "",
            f"`python {script}` on {platform.machine()}, {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}: {wall / 60:.1f} min.{' ' + note if note else ''}", ""]


def held_table(log: list[dict], group: str, label: str) -> list[str]:
    """``| label | tried | held |``, one row per value of ``group`` in the order they first appear."""
    lines = [f"| {label} | tried | held |", "|---|---:|---:|"]
    for value in dict.fromkeys(row[group] for row in log):
        rows = [row for row in log if row[group] == value]
        lines.append(f"| {value} | {len(rows)} | {sum(row['held'] for row in rows)} |")
    return lines


def failures_and_write(path: Path, lines: list[str], log: list[dict], failure: Callable[[dict], str],
                       none: str, where: str) -> None:
    """Add the failures (``failure(row)`` each, or the line ``none``) and where every trial is, then
    write the page to ``path`` and print it."""
    failures = [row for row in log if not row["held"]]
    lines += ["", "Failures:" if failures else none, ""]
    lines += [f"- {failure(row)}" for row in failures]
    lines += ["", where]
    path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
