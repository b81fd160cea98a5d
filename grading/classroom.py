"""A class's notebooks graded side by side: one kernel per notebook, ``jobs`` at a time."""

from __future__ import annotations

import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Sequence

from grading.exercises import Result
from grading.submission import Options, Report, grade_notebook


def grade_all(notebooks: Sequence[Path], options: Options, jobs: int, progress: bool = False) -> list[Report]:
    """Each notebook's report, in the order they finish; a progress bar on a terminal.

    With ``jobs`` above 1, grader processes (started fresh, never forked from a process
    that imported TensorFlow) each take one notebook at a time, and each notebook gets
    its own kernel as always.
    """
    jobs = max(1, min(jobs, len(notebooks)))
    bar = _bar(len(notebooks)) if progress else None
    reports = []
    try:
        if jobs == 1:
            for path in notebooks:
                reports.append(grade_notebook(path, options))
                _advance(bar, path)
        else:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_stop_on_sigterm) as pool:
                futures = {pool.submit(grade_notebook, path, options): path for path in notebooks}
                try:
                    for future in as_completed(futures):
                        reports.append(_report(future, futures[future]))
                        _advance(bar, futures[future])
                except KeyboardInterrupt:
                    pool.shutdown(wait=False, cancel_futures=True)
                    for process in multiprocessing.active_children():
                        process.terminate()  # each stops its kernel and removes its folder (_stop_on_sigterm)
                    raise
    finally:
        if bar is not None:
            bar.stop()
    return reports


def _stop_on_sigterm() -> None:
    """In a grader process: SIGTERM unwinds like Ctrl-C, so the kernel is stopped and its folder removed."""
    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the main process, which terminates these


def _report(future, path: Path) -> Report:
    """The grader process's report, or one row saying it died (a crash never hides a notebook)."""
    try:
        return future.result()
    except Exception as error:  # noqa: BLE001 - a dead grader process is one row, not a traceback
        return Report(path, [Result("grading", "error", f"the grader failed: {type(error).__name__}: {error}")])


def _bar(total: int):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("{task.description}"), transient=True)
    bar.add_task("", total=total)
    bar.start()
    return bar


def _advance(bar, path: Path) -> None:
    if bar is not None:
        bar.update(bar.task_ids[0], advance=1, description=path.name)
