"""Atomic output files for the tabular tools: temporary file in the folder, fsync, rename."""

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
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return final


def write_gif(path: str | Path, frames: Iterable[np.ndarray], fps: int = 4) -> int:
    """Frames to an animated GIF, atomically; returns the frame count."""
    import imageio.v2 as imageio

    frames = list(frames)
    write_atomically(path, lambda tmp: imageio.mimsave(tmp, frames, format="GIF", duration=1000 / fps, loop=0))
    return len(frames)
