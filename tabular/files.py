"""Atomic output files for the tabular tools: temporary file in the folder, fsync, rename.

The twin of ``lunar.run.atomic.write_with``, kept apart on purpose: ``tabular`` stands alone (it imports
nothing from ``lunar``), and these few lines are cheaper to keep twice than a third package."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterable

import numpy as np


def write_atomically(final: str | Path, writer: Callable[[Path], object]) -> Path:
    """Create ``final`` with ``writer(temporary_path)``; the final name appears only when complete."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=f".tmp{final.suffix}", dir=final.parent)
    os.close(fd)
    os.chmod(name, 0o644)
    tmp = Path(name)
    try:
        writer(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, final)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if isinstance(error, OSError) and error.filename is None:  # write() and fsync() name no file
            raise OSError(error.errno, error.strerror or str(error), str(final)) from None
        raise
    return final


def write_gif(path: str | Path, frames: Iterable[np.ndarray], fps: int = 4) -> int:
    """Frames to an animated GIF, atomically; returns the frame count.

    The GIF is encoded in memory, then written: a full disk fails on the write, naming the
    file, rather than inside the encoder (whose clean-up would print a second traceback).
    """
    import imageio.v2 as imageio

    frames = list(frames)
    data = imageio.mimwrite("<bytes>", frames, format="GIF", duration=1000 / fps, loop=0)
    write_atomically(path, lambda tmp: tmp.write_bytes(data))
    return len(frames)
