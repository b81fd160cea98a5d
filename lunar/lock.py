"""One run per output folder: an OS-level lock that a crashed run cannot leave stuck.

``flock`` on ``<folder>/.lunar-kit.lock``: the kernel releases it when the process that
holds it ends, however it ends (``kill -9`` included), so a stale file locks nothing. A
second run into the same folder is refused before it touches anything. Within one
process the lock is re-entrant (the command line takes it before reading a checkpoint,
``train()`` takes it again). The holder removes the file when it lets go, so a refused or
finished command leaves none; a lock taken on a file that was removed meanwhile is taken again.
"""

from __future__ import annotations

import os
from pathlib import Path

from lunar.errors import UserError

LOCK_NAME = ".lunar-kit.lock"
_held: dict[str, list[int]] = {}  # real path of the folder -> [file descriptor, holders]


def acquire(folder: str | Path) -> Path:
    """Lock ``folder`` (created if missing) for this process; UserError if another process holds it."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        key = os.path.realpath(folder)
        if key in _held:
            _held[key][1] += 1
            return folder
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise UserError(f"cannot use output folder {folder}: {error.strerror or error}") from None
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as before
        _held[key] = [fd, 1]
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
    _held[key] = [fd, 1]
    return folder


def release(folder: str | Path) -> None:
    """Undo one :func:`acquire`; the last one unlocks (the lock file stays, empty of meaning)."""
    key = os.path.realpath(folder)
    if key not in _held:
        return
    _held[key][1] -= 1
    if _held[key][1] == 0:
        fd = _held.pop(key)[0]
        try:
            if _still_named(fd, Path(key) / LOCK_NAME):
                os.unlink(Path(key) / LOCK_NAME)  # while still locked: a waiting run then opens a new file
        except OSError:
            pass
        os.close(fd)


def _still_named(fd: int, path: Path) -> bool:
    """True when ``path`` is the file open as ``fd`` (not removed or replaced since)."""
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except OSError:
        return False
