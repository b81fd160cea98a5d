"""What every command line of the kit shares: a parser that refuses bad input in one line with
exit code 2, its help formatter and argument types, and :func:`run_command`, the one place where
a command's errors become one line on stderr. (``tabular`` keeps its own few lines of this: it
stands alone.)"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from lunar.errors import UserError

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a default only where it says something (not None or False) and once."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "(default" in text or any(action.default is quiet for quiet in (None, False, argparse.SUPPRESS)):
            return text
        return super()._get_help_string(action) or text


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports bad input on one line (no usage dump) with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def parse_bool(text: str) -> bool:
    """An argparse type: true or false, in the usual spellings."""
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def bounded_int(low: int, high: int, what: str) -> Callable[[str], int]:
    """An argparse type: a whole number in ASCII digits from ``low`` to ``high``, else one line naming ``what``."""
    def parse(text: str) -> int:
        if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what} between {low:,} and {high:,}")
        return int(text)
    return parse


def folder_argument(text: str) -> Path:
    """An argparse type: a folder; an empty one is refused (``Path("")`` would be the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the output folder must not be empty (use . for the current folder)")
    return Path(text)


def run_command(parser: argparse.ArgumentParser, command: Any, argv: Sequence[str] | None, *,
                tensorflow: bool = True) -> int:
    """Parse, import TensorFlow without its start-up log (if ``tensorflow``), run ``command(args)``:
    the one place where a command's errors become one line on stderr.

    A UserError, or an OSError no check foresaw (a disk that filled up, a file that vanished),
    is exit code 2. Ctrl-C or SIGTERM before the run's own handler is in place (start-up), or
    a second one, is exit code 130.
    """
    from lunar.run.tfsetup import import_tensorflow_quietly

    args = parser.parse_args(argv)
    with _sigterm_unwinds():
        try:
            if tensorflow:
                import_tensorflow_quietly()
            return command(args)
        except UserError as error:
            print(f"{parser.prog}: error: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except OSError as error:
            print(f"{parser.prog}: error: could not use {error.filename or 'a file'}: {error.strerror or error}",
                  file=sys.stderr)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:
            print(f"{parser.prog}: stopped by Ctrl-C or SIGTERM", file=sys.stderr)
            return EXIT_INTERRUPTED


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt, as Ctrl-C does, so both end a command the same way."""
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: signals stay as they are
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
