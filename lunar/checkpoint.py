"""Checkpoints that survive ``kill -9``: write a folder aside, fsync, rename it into place.

A checkpoint is a folder ``ckpt-NNNNNN`` (``NNNNNN`` = episodes completed) holding

- ``agent.npz``: Q-network, target network and Adam variables (``numpy.savez``, no pickle);
- ``replay.npz``: the replay memory, oldest transition first;
- ``history.csv``: one row per completed episode;
- ``manifest.json``: format version, counters, epsilon, random-generator states,
  the configuration, and the SHA-256 of every other file.

The folder is built under a temporary name and renamed, so a reader sees a whole
checkpoint or none. :func:`latest_valid` checks the hashes and falls back to the
previous checkpoint when the newest is damaged.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lunar.atomic import fsync_dir

FORMAT_VERSION = 2
"""2: the history's moving-average column is ``moving_average`` and the retired options
(docs/tuning.md) are gone from the configuration. Format 1 is refused with a clear line."""
PREFIX = "ckpt-"
KEEP = 2


@dataclass
class Bundle:
    """A training run as plain data (see :meth:`lunar.run.Run.bundle`): what a checkpoint holds."""

    manifest: dict[str, Any]
    """Counters, epsilon, random-generator states and the configuration (JSON)."""
    agent: dict[str, np.ndarray]
    replay: dict[str, np.ndarray]
    history: pd.DataFrame


@dataclass
class Checkpoint(Bundle):
    """A bundle read back from disk, and the folder it came from."""

    path: Path = Path()


class CheckpointError(Exception):
    """A checkpoint folder is missing a file, or a file does not match its hash."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def save(directory: str | Path, bundle: Bundle, replace_others: bool = False) -> Path:
    """Write ``bundle`` as checkpoint ``ckpt-{episodes:06d}`` atomically and keep the two newest.

    ``replace_others`` removes every other checkpoint once this one is in place: a
    new run's first checkpoint replaces those of an earlier run in the same folder.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    episode = len(bundle.history)
    final = directory / f"{PREFIX}{episode:06d}"
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=directory))
    try:
        files = {
            "agent.npz": _npz_bytes(bundle.agent),
            "replay.npz": _npz_bytes(bundle.replay),
            "history.csv": bundle.history.to_csv(index=False).encode("utf-8"),
        }
        for name, data in files.items():
            _write_synced(staging / name, data)
        manifest = dict(bundle.manifest, format_version=FORMAT_VERSION, episode=episode,
                        files={name: hashlib.sha256(data).hexdigest() for name, data in files.items()})
        _write_synced(staging / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True).encode())
        fsync_dir(staging)
        if final.exists():  # re-saving the same episode (e.g. a final save after a periodic one)
            shutil.rmtree(final)
        os.rename(staging, final)
        fsync_dir(directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if replace_others:
        for other in list_checkpoints(directory):
            if other != final:
                shutil.rmtree(other, ignore_errors=True)
    prune(directory)
    return final


def list_checkpoints(directory: str | Path) -> list[Path]:
    """Checkpoint folders, newest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if p.is_dir() and p.name.startswith(PREFIX)
             and p.name[len(PREFIX):].isdigit()]
    return sorted(found, key=lambda p: int(p.name[len(PREFIX):]), reverse=True)


def prune(directory: str | Path, keep: int = KEEP) -> None:
    """Remove all but the ``keep`` newest checkpoints, and leftovers of interrupted saves."""
    for old in list_checkpoints(directory)[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    for leftover in Path(directory).glob(f".{PREFIX}*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)


def load(path: str | Path) -> Checkpoint:
    """Read and validate one checkpoint folder; CheckpointError says what is wrong."""
    path = Path(path)
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CheckpointError(f"{path.name}: unreadable manifest ({error})") from None
    if not isinstance(manifest, dict):
        raise CheckpointError(f"{path.name}: malformed manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path.name}: checkpoint format {manifest.get('format_version')!r}, this kit reads "
                              f"{FORMAT_VERSION} (made by another version of lunar-kit: start a new run)")
    for name, expected in manifest.get("files", {}).items():
        file = path / name
        if not file.is_file():
            raise CheckpointError(f"{path.name}: {name} is missing")
        if _sha256(file) != expected:
            raise CheckpointError(f"{path.name}: {name} is damaged (SHA-256 mismatch)")
    if set(manifest.get("files", {})) != {"agent.npz", "replay.npz", "history.csv"}:
        raise CheckpointError(f"{path.name}: manifest lists the wrong files")
    try:
        with np.load(path / "agent.npz", allow_pickle=False) as data:
            agent = {k: data[k] for k in data.files}
        with np.load(path / "replay.npz", allow_pickle=False) as data:
            replay = {k: data[k] for k in data.files}
        history = pd.read_csv(path / "history.csv")
    except (OSError, ValueError) as error:
        raise CheckpointError(f"{path.name}: unreadable data ({error})") from None
    if len(history) != manifest.get("episode"):
        raise CheckpointError(f"{path.name}: history has {len(history)} rows for episode {manifest.get('episode')}")
    return Checkpoint(manifest, agent, replay, history, path)


def latest_valid(directory: str | Path, warn: Any = None) -> Checkpoint | None:
    """The newest checkpoint that validates; each damaged one is reported through ``warn``."""
    for path in list_checkpoints(directory):
        try:
            return load(path)
        except CheckpointError as error:
            if warn is not None:
                warn(f"skipping damaged checkpoint: {error}")
    return None
