"""``lunar-grade NOTEBOOK.ipynb [MORE ...]``: grade learners' lab notebooks with the graded tests.

Each notebook runs in its own fresh, sandboxed kernel without its training loop: only
imports, definitions and assignments run, each statement on its own (a cell tagged
skip-grading is skipped). The course's own notebook (import gym, LunarLander-v2,
pyvirtualdisplay) is graded as submitted: the kernel has stand-ins for gym and
pyvirtualdisplay over Gymnasium. Then the graded tests run in the grader, out of the
submission's reach: the networks, the optimizer, compute_loss, agent_learn (reported as
"given" where it is the course's code as given) and the course's helpers where the
notebook defines its own; with --train, whether its code learns in the kit's loop. Each
kernel gets a scrubbed environment, a temporary folder, the limits below and, where
bubblewrap is installed, a read-only file system without network. A folder stands for the notebooks in it. Exit 0 when everything passes, 1 when
a test fails or a notebook does not run, 2 for bad input (nothing is written then),
130 when interrupted (Ctrl-C or SIGTERM: every kernel stopped, no grades written).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import signal
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

from grading.sandbox import Limits
from grading.learns import DEFAULT_EPISODES, MAX_EPISODES, MIN_EPISODES
from lunar.commands.commandline import OneLineParser, bounded_int

EXIT_PASSED, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
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
    defaults = Limits()
    parser.add_argument("--jobs", type=bounded_int(1, 256, "a number of kernels"), default=os.cpu_count() or 1,
                        metavar="N", help="notebooks graded at once, one kernel each (default: the CPU cores, "
                        f"{os.cpu_count() or 1} here)")
    parser.add_argument("--memory-limit", type=bounded_int(512, 1_048_576, "MiB"), default=defaults.memory_mb,
                        metavar="MIB", help=f"data memory of each kernel (default: {defaults.memory_mb})")
    parser.add_argument("--cpu-limit", type=bounded_int(10, 86_400, "seconds"), default=defaults.cpu_seconds,
                        metavar="SECONDS", help=f"CPU time of each kernel (default: {defaults.cpu_seconds})")
    parser.add_argument("--file-size-limit", type=bounded_int(1, 1_048_576, "MiB"), default=defaults.file_size_mb,
                        metavar="MIB", help=f"largest file a kernel may write (default: {defaults.file_size_mb})")
    parser.add_argument("--process-limit", type=bounded_int(64, 100_000, "processes"), default=defaults.processes,
                        metavar="N", help="processes and threads of each kernel's user "
                        f"(default: {defaults.processes})")
    parser.add_argument("--train", nargs="?", const=DEFAULT_EPISODES, default=0, metavar="EPISODES",
                        type=bounded_int(MIN_EPISODES, MAX_EPISODES, "a number of episodes"),
                        help="after Exercises 1 and 2 pass, train the notebook's code in the kit's loop in its "
                        f"kernel and add a row \"learns\" judged against the course's reference curve "
                        f"(default budget: {DEFAULT_EPISODES} episodes, about 30 s a notebook here)")
    parser.add_argument("--train-seed", type=bounded_int(0, 2**31 - 1, "a seed"), default=0, metavar="SEED",
                        help="the training seed of --train (default: 0)")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    handback = parser.add_argument_group("what a teacher hands back")
    handback.add_argument("--details", action="store_true",
                          help="print each notebook's full table (the default for one notebook) instead of the class "
                               "view: one line per learner, one column per exercise")
    handback.add_argument("--class-csv", type=Path, metavar="FILE", help="also write the class view as CSV")
    handback.add_argument("--feedback", type=Path, metavar="DIR",
                          help="write one Markdown feedback file per notebook into DIR: each verdict and message, "
                               "the statements that failed, what the grader substituted")
    handback.add_argument("--similarity", type=Path, metavar="FILE",
                          help="write a Markdown report of the pairs of notebooks that share uncommon code beyond "
                               "the course's template, ranked, with the shared lines")
    handback.add_argument("--template", type=Path, metavar="NOTEBOOK",
                          help="with --similarity: the blank notebook as distributed, whose lines are no evidence")
    handback.add_argument("--gradescope", type=Path, metavar="FILE",
                          help="write Gradescope's autograder results.json for the one notebook graded")
    return parser


def notebooks_from(paths: Sequence[Path]) -> list[Path]:
    """The notebooks named, folders expanded (sorted); ``ValueError`` for a bad name."""
    found = []
    for path in paths:
        try:
            found += _notebooks_in(path)
        except OSError as error:  # a name too long, a folder that cannot be listed
            raise ValueError(f"cannot read {str(path)[:200]}: {error.strerror or error}") from None
    return found


def _notebooks_in(path: Path) -> list[Path]:
    if path.is_dir():
        inside = sorted(p for p in path.glob("*.ipynb") if p.is_file())
        if not inside:
            raise ValueError(f"no .ipynb notebook in folder {path}")
        return inside
    if not path.is_file():
        raise ValueError(f"no such notebook: {path}")
    if path.suffix != ".ipynb":
        raise ValueError(f"not a notebook (.ipynb): {path}")
    return [path]


def check_targets(*targets: Path | None) -> None:
    """``ValueError`` unless each output file can be written, in a folder that exists: before any grading.
    The probe is :func:`lunar.run.atomic.check_file_target`'s, with the atomic writer's own temporary name."""
    from lunar.run.atomic import check_file_target
    from lunar.errors import UserError

    for target in targets:
        if target is None:
            continue
        folder = target.parent if str(target.parent) else Path(".")
        try:
            check_file_target(target)
            exists = folder.is_dir()
        except UserError as error:
            raise ValueError(str(error)) from None
        if not exists:
            raise ValueError(f"folder {folder} does not exist (for {target})")


def rows_csv(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def print_table(report: Any) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{escape(str(report.notebook))} ({report.seconds:.0f} s)", title_justify="left")
    for column in ("exercise", "result", "message"):
        table.add_column(column, overflow="fold")
    style = {"passed": "green", "failed": "red", "error": "red", "given": "cyan", "skipped": "yellow"}
    for result in report.rows:
        table.add_row(escape(result.exercise), f"[{style.get(result.status, 'white')}]{result.status}[/]",
                      escape(result.message))  # a learner's message is text, never markup
    Console().print(table)
    for note in dict.fromkeys(report.notes):
        print(f"  note: {note}")


def summary(report: Any) -> str:
    """"2 of 2 exercises passed", counting an exercise once over its rows (Exercise 1's three parts)."""
    exercises: dict[str, bool] = {}
    for row in report.rows:
        if row.exercise.startswith("Exercise "):
            key = row.exercise.split(":")[0]
            exercises[key] = exercises.get(key, True) and row.status == "passed"
    passed = sum(exercises.values())
    others = sum(row.status in ("failed", "error") for row in report.rows
                 if not row.exercise.startswith("Exercise ") and row.exercise != "learns")
    extra = f"; {others} other row(s) failed" if others else ""
    learns = [row.status for row in report.rows if row.exercise == "learns"]
    extra += f"; learns: {learns[0]}" if learns else ""
    return f"{report.notebook}: {passed} of {len(exercises)} exercises passed{extra}"


def check_handback(args: argparse.Namespace, notebooks: list[Path]) -> None:
    """``ValueError`` for hand-back options that cannot work, before any grading."""
    from lunar.errors import UserError
    from lunar.run.atomic import check_writable

    if args.gradescope is not None and len(notebooks) != 1:
        raise ValueError(f"--gradescope writes the result of one submission; {len(notebooks)} notebooks were given")
    if args.template is not None:
        if args.similarity is None:
            raise ValueError("--template is the blank notebook of --similarity: give --similarity FILE too")
        if not args.template.is_file():
            raise ValueError(f"--template: no such notebook: {args.template}")
    if args.feedback is not None:
        try:
            check_writable(args.feedback)
        except UserError as error:
            raise ValueError(f"--feedback: {error}") from None


def write_outputs(args: argparse.Namespace, reports: list[Any], rows: list[dict[str, str]]) -> None:
    """Every file asked for, each written atomically; ``OSError`` naming the file that failed."""
    from lunar.run.atomic import write_text

    texts = {args.csv: lambda: rows_csv(rows), args.json: lambda: json.dumps(rows, indent=1)}
    if args.class_csv is not None:
        from grading.class_view import class_csv
        texts[args.class_csv] = lambda: class_csv(reports)
    if args.gradescope is not None:
        from grading.feedback import gradescope_results
        texts[args.gradescope] = lambda: gradescope_results(reports[0])
    if args.similarity is not None:
        texts[args.similarity] = lambda: similarity_report(reports, args.template)
    for target, text in texts.items():
        if target is not None:
            write_text(target, text())
    if args.feedback is not None:
        from grading.feedback import write_feedback
        write_feedback(reports, args.feedback)


def similarity_report(reports: list[Any], template: Path | None) -> str:
    from grading.similarity import code_cells, similar_pairs, similarity_markdown

    notebooks = {str(report.notebook): code_cells(report.notebook) for report in reports}
    pairs = similar_pairs(notebooks, code_cells(template) if template is not None else ())
    return similarity_markdown(pairs, len(notebooks))


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        notebooks = notebooks_from(args.notebooks)
        check_targets(args.csv, args.json, args.class_csv, args.similarity, args.gradescope)
        check_handback(args, notebooks)
        import nbformat  # noqa: F401 - the grader's own dependency, checked before any work
    except ImportError:
        print("lunar-grade: error: needs nbformat: pip install -e \".[grade]\"", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ValueError, OSError) as error:
        print(f"lunar-grade: error: {getattr(error, 'strerror', None) or error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    from grading.classroom import grade_all
    from grading.sandbox import isolation, isolation_line
    from grading.submission import Options

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # the graded tests import TensorFlow: no start-up log
    limits = Limits(args.memory_limit, args.cpu_limit, args.file_size_limit, args.process_limit)
    options = Options(args.cell_timeout, limits, isolation(), args.train, args.train_seed)
    print(isolation_line(options.isolation))
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        reports = sorted(grade_all(notebooks, options, args.jobs, progress=not args.quiet and sys.stdout.isatty()),
                         key=lambda r: str(r.notebook))
    except KeyboardInterrupt:
        print("lunar-grade: interrupted: no grades written (every kernel stopped)", file=sys.stderr)
        return EXIT_INTERRUPTED
    rows = [{"notebook": str(r.notebook), **asdict(result)} for r in reports for result in r.rows]
    class_view = len(reports) > 1 and not args.details
    for report in reports if not args.quiet and not class_view else ():
        print_table(report)
    try:
        write_outputs(args, reports, rows)
    except OSError as error:
        print(f"lunar-grade: error: could not write {error.filename or 'an output'}: {error.strerror or error}",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    if class_view and not args.quiet:
        from grading.class_view import print_class
        print_class(reports)
    for report in reports if not class_view or args.quiet else ():
        print(summary(report))
    failed = sum(row["status"] in ("failed", "error") for row in rows)
    passed = sum(row["status"] == "passed" for row in rows)
    print(f"{len(notebooks)} notebook(s), {passed} passed, {failed} failed or not run")
    return EXIT_FAILED if failed else EXIT_PASSED
