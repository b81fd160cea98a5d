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


def check_writable(directory: str | Path, file_name: str = ".lunar-kit-probe") -> None:
    """Raise UserError unless ``directory`` is a folder, or could be created, where
    ``file_name`` can be written the way :func:`atomic_path` writes it.

    The check is a probe, not ``os.access`` (which passes for root in ``/proc``): a temporary
    file with :func:`atomic_path`'s name is made and removed at once in the nearest existing
    folder, and each name still to be created must fit the file system. Leaves the disk as it was.
    """
    from lunar.errors import UserError

    directory = Path(directory)
    prefix, suffix = temporary_affixes(Path(file_name))
    if "\0" in str(directory) or "\0" in file_name:  # Path.exists() says False for such a name
        raise UserError(f"output folder {str(directory)!r} is not writable: a name holds a NUL byte")
    try:
        probe, missing = directory, []
        while not probe.exists() and probe != probe.parent:
            missing.append(probe.name)
            probe = probe.parent
        if not probe.is_dir():
            raise UserError(f"output folder {directory} is not writable: {probe} is a file, not a folder")
        longest = _name_max(probe)
        too_long = [name for name in [*missing, prefix + "x" * 8 + suffix] if len(os.fsencode(name)) > longest]
        if too_long:
            raise UserError(f"cannot write in {directory}: a name there would be longer than the file system's "
                            f"{longest} bytes ({too_long[0][:40]}...)")
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=probe)
        os.close(fd)
        os.unlink(name)
    except (OSError, ValueError) as error:  # ValueError: a name the OS cannot represent
        raise UserError(f"output folder {directory} is not writable: "
                        f"{getattr(error, 'strerror', None) or error}") from None


def check_file_target(path: str | Path) -> None:
    """Raise UserError unless ``path`` can be written as a file by :func:`atomic_path`
    (see :func:`check_writable`): checked before the work whose result it will hold."""
    from lunar.errors import UserError

    path = Path(path)
    try:
        is_folder = path.is_dir()
    except (OSError, ValueError) as error:
        raise UserError(f"cannot write {path}: {getattr(error, 'strerror', None) or error}") from None
    if is_folder:
        raise UserError(f"{path} is a folder, not a file")
    check_writable(path.parent, path.name)


def temporary_affixes(final: Path) -> tuple[str, str]:
    """The prefix and suffix of :func:`atomic_path`'s temporary file for ``final``: the final
    suffix is kept (``.mp4``, ``.h5``) so that writers which pick a format from it still work."""
    return f".{final.stem}.", f".tmp{final.suffix}"


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


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
def atomic_path(final: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``final``; on success move it into place.

    The temporary name is :func:`temporary_affixes`'. On any exception the temporary file
    is removed and ``final`` is untouched.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    prefix, suffix = temporary_affixes(final)
    fd, tmp_name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=final.parent)
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
