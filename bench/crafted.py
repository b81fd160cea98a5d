"""Thirty-six crafted checkpoints for ``bench/stress.py``: each edits the newest checkpoint of a run.

Most recompute the manifest's checksum (and the files' SHA-256), as a deliberate forger would,
so that only the reader's own checks of structure, names, ranges and data stand in the way.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from lunar.run import checkpoint as ckpt


def forge(folder: Path, change: Callable[[dict], Any], rehash_files: bool = True, checksum: bool = True) -> None:
    """Apply ``change`` to the manifest, then recompute the files' hashes and the checksum."""
    manifest = json.loads((folder / "manifest.json").read_text())
    change(manifest)
    if rehash_files and isinstance(manifest.get("files"), dict):
        for name in list(manifest["files"]):
            if (folder / name).is_file():
                manifest["files"][name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    if checksum and isinstance(manifest, dict):
        manifest["checksum"] = ckpt.manifest_checksum(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _edit_arrays(name: str, change: Callable[[dict], Any]) -> Callable[[Path], None]:
    def craft(folder: Path) -> None:
        with np.load(folder / name) as data:
            arrays = {k: data[k] for k in data.files}
        change(arrays)
        (folder / name).write_bytes(ckpt.npz_bytes(arrays))
        forge(folder, lambda m: None)
    return craft


def _huge_header(folder: Path) -> None:
    header = b"\x93NUMPY\x01\x00" + b"{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }"
    header = header + b" " * (127 - len(header)) + b"\n"
    with zipfile.ZipFile(folder / "replay.npz", "w") as archive:
        archive.writestr("rows.npy", header + b"\x00" * 16)
    forge(folder, lambda m: None)


def _pickled_array(folder: Path) -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(folder / "agent.npz", "a") as archive:
        archive.writestr("extra.npy", buffer.getvalue())
    forge(folder, lambda m: None)


def _set(**values: Any) -> Callable[[Path], None]:
    return lambda folder: forge(folder, lambda m: m.update(values))


def _set_in(key: str, **values: Any) -> Callable[[Path], None]:
    return lambda folder: forge(folder, lambda m: m[key].update(values))


def _rng(which: str, **values: Any) -> Callable[[Path], None]:
    return lambda folder: forge(folder, lambda m: m["rng"][which].update(values))


def _write(name: str, data: bytes, rehash: bool = True) -> Callable[[Path], None]:
    def craft(folder: Path) -> None:
        (folder / name).write_bytes(data)
        if rehash:
            forge(folder, lambda m: None)
    return craft


def _history_value(column: str, value: Any) -> Callable[[Path], None]:
    def craft(folder: Path) -> None:
        lines = (folder / "history.csv").read_text().splitlines()
        names, cells = lines[0].split(","), lines[-1].split(",")
        cells[names.index(column)] = value
        (folder / "history.csv").write_text("\n".join(lines[:-1] + [",".join(cells)]) + "\n")
        forge(folder, lambda m: None)
    return craft


CRAFTS: list[tuple[str, Callable[[Path], None]]] = [
    ("files as a list", lambda f: forge(f, lambda m: m.update(files=list(m["files"])), False)),
    ("files as a string", lambda f: forge(f, lambda m: m.update(files="agent.npz"), False)),
    ("files without replay", lambda f: forge(f, lambda m: m["files"].pop("replay.npz"))),
    ("files naming ../", lambda f: forge(f, lambda m: m["files"].update({"../../x": "0" * 64}), False)),
    ("files naming /etc/passwd", lambda f: forge(f, lambda m: m["files"].update({"/etc/passwd": "0" * 64}), False)),
    ("hash not hex-64", lambda f: forge(f, lambda m: m["files"].update({"agent.npz": "abc"}), False)),
    ("no config", lambda f: forge(f, lambda m: m.pop("config"))),
    ("config a string", _set(config="gamma = 0.9")),
    ("config unknown key", _set_in("config", warp_drive=True)),
    ("config gamma 7", _set_in("config", gamma=7)),
    ("config memory 10**12", _set_in("config", memory_size=10**12)),
    ("config seed true", _set_in("config", seed=True)),
    ("config env module:", _set_in("config", env_id="os:Env-v0")),
    ("garbage rng name", _rng("numpy", bit_generator="MT19937x")),
    ("rng naming os", _rng("env", bit_generator="os")),
    ("rng state a string", lambda f: forge(f, lambda m: m["rng"]["numpy"].update(state="x"))),
    ("no rng", lambda f: forge(f, lambda m: m.pop("rng"))),
    ("epsilon 1.88", _set(epsilon=1.88)),
    ("epsilon NaN text", _set(epsilon="nan")),
    ("negative total_steps", _set(total_steps=-5)),
    ("episode off by one", lambda f: forge(f, lambda m: m.update(episode=m["episode"] + 1))),
    ("elapsed negative", _set(elapsed_seconds=-1.0)),
    ("checkpoint_every 0", _set(checkpoint_every=0)),
    ("format version 99", _set(format_version=99)),
    ("one digit edited, no new checksum", lambda f: forge(f, lambda m: m.update(epsilon=m["epsilon"] / 2),
                                                          checksum=False)),
    ("manifest a JSON list", _write("manifest.json", b"[1, 2, 3]", rehash=False)),
    ("manifest not JSON", _write("manifest.json", b"{ this is not json", rehash=False)),
    ("NaN weights", _edit_arrays("agent.npz", lambda a: a.update({"q/000": np.full_like(a["q/000"], np.nan)}))),
    ("wrong weight shape", _edit_arrays("agent.npz", lambda a: a.update({"q/000": np.zeros((4, 7), "f4")}))),
    ("4 TiB npy header", _huge_header),
    ("pickled object array", _pickled_array),
    ("history rows dropped", _write("history.csv", b"episode,return\n1,2.0\n")),
    ("history return inf", _history_value("return", "inf")),
    ("history average 1e999", _history_value("moving_average", "1e999")),
    ("history steps as text", _history_value("steps", "many")),
    ("history epsilon -1", _history_value("epsilon", "-1")),
]
