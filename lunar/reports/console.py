"""Progress output of a training run: a rich progress bar on a terminal, plain lines elsewhere."""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Protocol, TextIO

from lunar.config import DQNConfig


class Reporter(Protocol):
    """Watches a run: ``start`` once, ``episode`` with each history row, ``message`` for notes."""

    def start(self, config: DQNConfig, first_episode: int) -> None: ...
    def episode(self, row: dict[str, Any]) -> None: ...
    def message(self, text: str) -> None: ...
    def stop(self) -> None: ...


class SilentReporter:
    def start(self, config: DQNConfig, first_episode: int) -> None: ...
    def episode(self, row: dict[str, Any]) -> None: ...
    def message(self, text: str) -> None: ...
    def stop(self) -> None: ...


def course_line(row: dict[str, Any], window: int) -> str:
    """The course's progress line."""
    return (f"Episode {row['episode']} | Total point average of the last {window} episodes: "
            f"{row['moving_average']:.2f}")


class ConsoleReporter:
    """Prints the course's line every ``window`` episodes; on a terminal, also a live
    progress bar with the moving average, epsilon and environment steps per second."""

    def __init__(self, quiet: bool = False, stream: TextIO | None = None, live: bool | None = None,
                 header: Callable[[DQNConfig], str] | None = None) -> None:
        self.quiet = quiet
        self.header = header
        self.stream = stream or sys.stdout
        self.live = (not quiet and self.stream.isatty()) if live is None else live
        self.window = 100
        self._progress: Any = None
        self._task: Any = None
        self._last_steps = 0
        self._last_time = 0.0
        self._rate = 0.0

    def start(self, config: DQNConfig, first_episode: int) -> None:
        self.window = config.num_p_av
        self._last_time = time.perf_counter()
        if self.header is not None and not self.quiet:
            print(self.header(config), file=self.stream, flush=True)
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("[bold]training"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("{task.fields[info]}"), console=Console(file=self.stream), transient=False)
            self._progress.start()
            self._task = self._progress.add_task("train", total=config.num_episodes, completed=first_episode,
                                                 info="")

    def episode(self, row: dict[str, Any]) -> None:
        now = time.perf_counter()
        if now - self._last_time > 0.5:
            self._rate = (row["total_steps"] - self._last_steps) / (now - self._last_time)
            self._last_steps, self._last_time = row["total_steps"], now
        line = course_line(row, self.window)
        if self._progress is not None:
            info = (f"avg {row['moving_average']:8.2f} | last {row['return']:8.2f} | eps {row['epsilon']:.3f} | "
                    f"{self._rate:,.0f} steps/s")
            self._progress.update(self._task, completed=row["episode"], info=info)
            if row["episode"] % self.window == 0:
                self._progress.console.print(line, markup=False)
        elif not self.quiet and row["episode"] % self.window == 0:
            print(line, file=self.stream, flush=True)
        self._last_row = row

    def message(self, text: str) -> None:
        if self._progress is not None:
            self._progress.console.print(text, markup=False)  # a path may hold brackets
        elif not self.quiet:
            print(text, file=self.stream, flush=True)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        row = getattr(self, "_last_row", None)
        if row is not None and not self.quiet and row["episode"] % self.window:
            print(course_line(row, self.window), file=self.stream, flush=True)
