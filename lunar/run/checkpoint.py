"""Checkpoints that survive ``kill -9``: write a folder aside, fsync, rename it into place.

A checkpoint is a folder ``ckpt-NNNNNN`` (``NNNNNN`` = episodes completed) holding

- ``agent.npz``: Q-network, target network and Adam variables (``numpy.savez``, no pickle);
- ``replay.npz``: the replay memory, oldest transition first;
- ``history.csv``: one row per completed episode;
- ``manifest.json``: format version, counters, epsilon, random-generator states,
  the configuration, the SHA-256 of every other file, and a checksum of itself.

The folder is built under a temporary name and renamed, so a reader sees a whole
checkpoint or none. :func:`load` trusts nothing it reads: the manifest's checksum, its
structure, names, types and ranges, the folder's name against the manifest's episode,
every file's hash (only the three known names, inside the folder), every array's and the
history's values are checked before anything is used. :func:`latest_valid` falls back to
the previous checkpoint when the newest fails.
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
from typing import Any, Iterator

import numpy as np
import pandas as pd

from lunar.run.atomic import fsync_dir, named
from lunar.config import DQNConfig

FORMAT_VERSION = 3
"""3: the manifest carries its own checksum and each agent variable's path; 2: the history's
moving-average column is ``moving_average``. Older formats are refused with a clear line."""
FILES = ("agent.npz", "replay.npz", "history.csv")
MAX_MANIFEST_BYTES = 1 << 20
PREFIX = "ckpt-"
KEEP = 2
HISTORY_COLUMNS = ["episode", "return", "steps", "total_steps", "epsilon", "moving_average", "loss", "mean_q",
                   "elapsed_seconds"]
"""Columns of a run's history: ``moving_average`` is the mean return of the last ``num_p_av``
episodes (the course's ``av_latest_points``), ``epsilon`` the one the episode was played
with, ``loss`` and ``mean_q`` the means over its updates (NaN for an episode without one).
Every column but ``elapsed_seconds`` (wall clock) repeats with the seed."""
MAY_BE_NAN = ("loss", "mean_q")


@dataclass
class Bundle:
    """A training run as plain data (see :meth:`lunar.run.state.Run.bundle`): what a checkpoint holds."""

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
    try:
        with open(path, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        raise named(error, path) from None


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """``arrays`` as the bytes of an ``.npz`` file (``numpy.savez``, no pickle)."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def save(directory: str | Path, bundle: Bundle, replace_others: bool = False) -> Path:
    """Write ``bundle`` as checkpoint ``ckpt-{episodes:06d}`` atomically and keep the two newest.

    The older ones are pruned only once the new one is in place: a kill in between leaves one
    checkpoint more, never one fewer.

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
            "agent.npz": npz_bytes(bundle.agent),
            "replay.npz": npz_bytes(bundle.replay),
            "history.csv": bundle.history.to_csv(index=False).encode("utf-8"),
        }
        for name, data in files.items():
            _write_synced(staging / name, data)
        manifest = dict(bundle.manifest, format_version=FORMAT_VERSION, episode=episode,
                        files={name: hashlib.sha256(data).hexdigest() for name, data in files.items()})
        manifest["checksum"] = manifest_checksum(manifest)
        _write_synced(staging / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True).encode())
        fsync_dir(staging)
        if final.exists():  # re-saving the same episode (e.g. a final save after a periodic one)
            shutil.rmtree(final)
        os.rename(staging, final)
        fsync_dir(directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    prune(directory, final, replace_others)
    return final


def list_checkpoints(directory: str | Path) -> list[Path]:
    """Checkpoint folders, newest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if p.is_dir() and p.name.startswith(PREFIX)
             and p.name[len(PREFIX):].isdigit()]
    return sorted(found, key=episode_of, reverse=True)


def episode_of(folder: Path) -> int:
    """The episode a checkpoint folder's name says (``ckpt-000120``: 120)."""
    return int(folder.name[len(PREFIX):])


def prune(directory: str | Path, saved: Path, replace_others: bool = False) -> None:
    """Keep ``saved`` and the ``KEEP - 1`` checkpoints numbered just below it (none if ``replace_others``);
    remove the others, and leftovers of interrupted saves.

    A folder numbered above the one just saved is never the run's: a damaged checkpoint the run
    resumed past, or one renamed by hand, so it goes too rather than outlive the real ones.
    """
    found = list_checkpoints(directory)
    below = [p for p in found if episode_of(p) < episode_of(saved)]
    keep = {saved, *([] if replace_others else below[:KEEP - 1])}
    for old in found:
        if old not in keep:
            shutil.rmtree(old, ignore_errors=True)
    for leftover in Path(directory).glob(f".{PREFIX}*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)


def manifest_checksum(manifest: dict[str, Any]) -> str:
    """SHA-256 of the manifest's canonical JSON, its own ``checksum`` left out."""
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def load(path: str | Path) -> Checkpoint:
    """Read and validate one checkpoint folder; CheckpointError says what is wrong."""
    path = Path(path)
    manifest = _read_manifest(path)
    for name in FILES:  # the names are fixed above: nothing outside the folder is ever opened
        file = path / name
        if not file.is_file():
            raise CheckpointError(f"{path.name}: {name} is missing")
        if _sha256(file) != manifest["files"][name]:
            raise CheckpointError(f"{path.name}: {name} is damaged (SHA-256 mismatch)")
    try:
        agent, replay = _read_arrays(path / "agent.npz"), _read_arrays(path / "replay.npz")
        history = pd.read_csv(path / "history.csv")
    except Exception as error:  # noqa: BLE001 - any failure to parse is a damaged checkpoint
        raise CheckpointError(f"{path.name}: unreadable data ({type(error).__name__}: {error})") from None
    problem = history_problem(history, manifest["episode"])
    if problem:
        raise CheckpointError(f"{path.name}: {problem}")
    return Checkpoint(manifest, agent, replay, history, path)


def _read_manifest(path: Path) -> dict[str, Any]:
    """The manifest, after its checksum, structure and values are checked."""
    try:
        if (path / "manifest.json").stat().st_size > MAX_MANIFEST_BYTES:
            raise CheckpointError(f"{path.name}: manifest is too large")
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CheckpointError(f"{path.name}: unreadable manifest ({error})") from None
    if not isinstance(manifest, dict):
        raise CheckpointError(f"{path.name}: malformed manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path.name}: checkpoint format {manifest.get('format_version')!r}, this kit reads "
                              f"{FORMAT_VERSION} (made by another version of lunar-kit: start a new run)")
    if manifest.get("checksum") != manifest_checksum(manifest):
        raise CheckpointError(f"{path.name}: manifest was changed after it was written (checksum mismatch)")
    problem = manifest_problem(manifest)
    if problem:
        raise CheckpointError(f"{path.name}: {problem}")
    if path.name != f"{PREFIX}{manifest['episode']:06d}":
        raise CheckpointError(f"{path.name}: its manifest is of episode {manifest['episode']} (a renamed folder)")
    return manifest


def manifest_problem(manifest: dict[str, Any]) -> str | None:
    """What is wrong with a manifest's structure or values, or None."""
    files = manifest.get("files")
    if not isinstance(files, dict) or set(files) != set(FILES) or not all(
            isinstance(v, str) and len(v) == 64 for v in files.values()):
        return f"manifest must list exactly {', '.join(FILES)} with their SHA-256"
    if not _count(manifest.get("episode")) or not _count(manifest.get("total_steps")):
        return "manifest's episode and total_steps must be integers >= 0"
    if not (_number(manifest.get("epsilon")) and 0 <= manifest["epsilon"] <= 1):
        return "manifest's epsilon must be a number in [0, 1]"
    if not (_number(manifest.get("elapsed_seconds")) and manifest["elapsed_seconds"] >= 0):
        return "manifest's elapsed_seconds must be a number >= 0"
    every = manifest.get("checkpoint_every", 1)
    if not (_count(every) and every > 0):
        return "manifest's checkpoint_every must be a positive integer"
    lab_code = manifest.get("lab_code", [])
    if not (isinstance(lab_code, list) and all(isinstance(p, str) and p.isidentifier() for p in lab_code)):
        return "manifest's lab_code must be a list of the names of a learner's parts"
    rng = manifest.get("rng")
    if not isinstance(rng, dict) or not all(_pcg64_state(rng.get(k)) for k in ("numpy", "env")):
        return "manifest's random-generator states are not PCG64 states"
    try:
        DQNConfig(**manifest["config"])
    except Exception as error:  # noqa: BLE001 - missing, not a table, unknown keys, out of range
        return f"manifest's configuration is invalid ({type(error).__name__}: {error})"
    return None


def history_problem(history: pd.DataFrame, episode: int) -> str | None:
    """What is wrong with a checkpoint's history, or None: it must have :data:`HISTORY_COLUMNS`,
    episodes 1..``episode``, finite numbers (NaN only in ``loss`` and ``mean_q``), counts >= 0
    and epsilon in [0, 1]."""
    if list(history.columns) != HISTORY_COLUMNS:
        return f"history has columns {list(history.columns)}, expected {HISTORY_COLUMNS}"
    if len(history) != episode:
        return f"history has {len(history)} rows for episode {episode}"
    try:
        values = {name: history[name].to_numpy(dtype=float) for name in HISTORY_COLUMNS}
    except (TypeError, ValueError):
        return "history holds values that are not numbers"
    if any(np.isinf(v).any() or (name not in MAY_BE_NAN and np.isnan(v).any()) for name, v in values.items()):
        return "history holds infinite or missing values"
    if not np.array_equal(values["episode"], np.arange(1, episode + 1)):
        return f"history's episodes are not 1 to {episode}"
    if (values["steps"] < 0).any() or (values["total_steps"] < 0).any() or not (
            (values["epsilon"] >= 0) & (values["epsilon"] <= 1)).all():
        return "history's steps must be >= 0 and its epsilon in [0, 1]"
    return None


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


def _pcg64_state(state: Any) -> bool:
    """True when ``state`` is a state that ``numpy.random.PCG64`` accepts (no other generator is looked up)."""
    if not isinstance(state, dict) or state.get("bit_generator") != "PCG64":
        return False
    try:
        np.random.PCG64().state = state
    except (TypeError, ValueError, KeyError, OverflowError):
        return False
    return True


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file (no pickle), each numeric array checked to be finite."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    for name, array in arrays.items():
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise ValueError(f"{path.name}: array {name} holds NaN or infinite values")
    return arrays


def valid_checkpoints(directory: str | Path, warn: Any = None, older_than: int | None = None) -> Iterator[Checkpoint]:
    """Each checkpoint that validates, newest first (only those before episode ``older_than`` if
    given); each damaged one is reported through ``warn``."""
    for path in list_checkpoints(directory):
        if older_than is not None and episode_of(path) >= older_than:
            continue
        try:
            yield load(path)
        except CheckpointError as error:
            if warn is not None:
                warn(f"skipping damaged checkpoint: {error}")


def latest_valid(directory: str | Path, warn: Any = None) -> Checkpoint | None:
    """The newest checkpoint that validates; each damaged one is reported through ``warn``."""
    return next(valid_checkpoints(directory, warn), None)
