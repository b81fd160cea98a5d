"""One run per output folder: an OS-level lock that a crashed run cannot leave stuck.

``flock`` on ``<folder>/.lunar-kit.lock``: the kernel releases it when the process that
holds it ends, however it ends (``kill -9`` included), so a stale file locks nothing. A
second run into the same folder is refused before it touches anything, and so is a second
lock on it within one process (``train()`` takes it once, for the whole run). The holder removes
the file when it lets go, so a refused or finished command leaves none; a lock taken on a file
that was removed meanwhile is taken again.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

from lunar.errors import UserError

LOCK_NAME = ".lunar-kit.lock"
_held: dict[str, int] = {}  # real path of the folder -> the lock file's descriptor


def acquire(folder: str | Path) -> Path:
    """Lock ``folder`` (created if missing) for this process; UserError if another process holds it."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        key = os.path.realpath(folder)
        if key in _held:
            raise UserError(f"output folder {folder} is in use by this process already; choose another --output-dir")
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise UserError(f"cannot use output folder {folder}: {error.strerror or error}") from None
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as before
        _held[key] = fd
        return folder
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise UserError(f"output folder {folder} is in use by another run (pid {holder}); wait for it to end "
                        "or choose another --output-dir") from None
    if not _still_named(fd, folder / LOCK_NAME):  # its holder removed it as we opened it: lock the new one
        os.close(fd)
        return acquire(folder)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
    except OSError:
        pass  # the pid only helps the refusal message; the flock is the lock (a full disk fails later, named)
    _held[key] = fd
    return folder


def release(folder: str | Path) -> None:
    """Undo :func:`acquire`: remove the lock file while still holding it, then unlock."""
    key = os.path.realpath(folder)
    if key not in _held:
        return
    fd = _held.pop(key)
    try:
        if _still_named(fd, Path(key) / LOCK_NAME):
            os.unlink(Path(key) / LOCK_NAME)  # while still locked: a waiting run then opens a new file
    except OSError:
        pass
    os.close(fd)


@contextlib.contextmanager
def held(folder: str | Path, enabled: bool = True) -> Iterator[None]:
    """``folder`` locked for the ``with`` block (nothing at all when not ``enabled``)."""
    if not enabled:
        yield
        return
    acquire(folder)
    try:
        yield
    finally:
        release(folder)


def _still_named(fd: int, path: Path) -> bool:
    """True when ``path`` is the file open as ``fd`` (not removed or replaced since)."""
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except OSError:
        return False
