"""Crash-safe file writes: temporary file in the same folder, fsync, ``os.replace``.

A reader (or a process restarted after ``kill -9``) sees either the old file or the
new one under the final name, never a half-written one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterator


def check_writable(directory: str | Path) -> None:
    """Raise UserError unless ``directory`` exists (or could be created) and accepts files.

    Creates nothing, so a refused command leaves the disk as it was.
    """
    from lunar.errors import UserError

    directory = Path(directory)
    probe = directory
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"output folder {directory} is not writable")


def named(error: OSError, path: str | Path) -> OSError:
    """``error`` with ``path`` as its file name when it has none: a failed ``write`` or ``fsync``
    (a full disk) names no file, and the one-line error must say which file it was."""
    if error.filename is not None:
        return error
    return OSError(error.errno, error.strerror or str(error), str(path))


def fsync_dir(directory: str | Path) -> None:
    """Make a rename inside ``directory`` durable (no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(final: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``final``; on success move it into place.

    The temporary name keeps the final suffix (``.mp4``, ``.h5``) so that writers
    which pick a format from the extension still work. On any exception the
    temporary file is removed and ``final`` is untouched.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    ext = final.suffix if suffix is None else suffix
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=f".tmp{ext}", dir=final.parent)
    os.close(fd)
    os.chmod(tmp_name, 0o644)  # mkstemp makes 0600; a saved model should be readable like any file
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, final)
        fsync_dir(final.parent)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if isinstance(error, OSError):
            raise named(error, final) from None
        raise


def write_bytes(final: str | Path, data: bytes) -> Path:
    """Atomically write ``data`` to ``final``."""
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)
    return Path(final)


def write_text(final: str | Path, text: str) -> Path:
    """Atomically write ``text`` (UTF-8) to ``final``."""
    return write_bytes(final, text.encode("utf-8"))


def write_with(final: str | Path, writer: Callable[[Path], object]) -> Path:
    """Atomically create ``final`` with ``writer(temporary_path)``."""
    with atomic_path(final) as tmp:
        writer(tmp)
    return Path(final)
