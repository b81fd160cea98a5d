"""Where a submission's kernel runs: a scrubbed environment, a temporary folder, limits, a jail.

Each notebook gets a fresh kernel process (:mod:`grading.kernel`):

- its environment holds only ``PATH``, ``LANG`` and the kit's quiet settings; ``HOME``
  and ``TMPDIR`` are its own temporary folder, which is also its working folder (the
  notebook is copied there; the teacher's folder is never its working folder);
- it sets limits on its data memory, CPU time, file size and processes before any of the
  submission's code runs (:class:`Limits`);
- when the grader runs as root, the kernel runs as ``nobody`` where ``nobody`` can run this
  Python; otherwise as root, whose process count the grader watches instead (:func:`tasks_in_tree`);
- on Linux with bubblewrap (``bwrap``) present and working, it runs inside it: the whole
  file system read-only but its own folder, a private ``/tmp``, no network, its own
  process, IPC and user namespaces. Without bubblewrap the kernel sees the file system
  and the network with the rights of the user it runs as (:func:`isolation` says so).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

KERNEL = Path(__file__).resolve().parent / "kernel.py"
NOBODY = 65534
STARTUP_LOG = ".kernel-startup.log"  # what the kernel printed before it took its channel (why it did not start)


@dataclass(frozen=True)
class Limits:
    """What one submission's kernel may use; each is a ``lunar-grade`` flag."""
    memory_mb: int = 2048      # data memory (RLIMIT_DATA): TensorFlow itself needs about 420 MiB
    cpu_seconds: int = 900     # CPU time for the whole notebook, its imports and its tests
    file_size_mb: int = 64     # the largest file it may write
    processes: int = 512       # processes and threads (RLIMIT_NPROC) of the user it runs as

    def rlimits(self) -> dict[str, int]:
        return {"memory": self.memory_mb * 2**20, "cpu": self.cpu_seconds,
                "file_size": self.file_size_mb * 2**20, "processes": self.processes + _tasks_now()}


def _tasks_now() -> int:
    """The threads the kernel's user already runs (RLIMIT_NPROC counts them all); 0 for nobody."""
    if os.geteuid() == 0:
        return 0
    count = 0  # the user's own tasks: the limit is on top of them
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        try:
            if entry.name.isdigit() and entry.stat().st_uid == os.geteuid():
                count += sum(1 for _ in (entry / "task").iterdir())
        except OSError:
            continue
    return count


@functools.lru_cache(maxsize=1)
def isolation() -> str:
    """``"bubblewrap"`` when a bwrap jail starts here, else ``"none"``."""
    bwrap = shutil.which("bwrap")
    if not bwrap or not sys.platform.startswith("linux"):
        return "none"
    try:
        done = subprocess.run([bwrap, *_jail_options("/"), "true"], capture_output=True, timeout=30,
                              **_user_options())
    except (OSError, subprocess.SubprocessError):
        return "none"
    return "bubblewrap" if done.returncode == 0 else "none"


def isolation_line(mode: str) -> str:
    if mode == "bubblewrap":
        return "isolation: bubblewrap (read-only file system, no network, own folder)"
    return ("isolation: none - install bubblewrap (apt-get install bubblewrap) for a read-only file system "
            "without network; each kernel still gets a scrubbed environment, its own folder and limits")


def _jail_options(folder: str) -> list[str]:
    """Read-only ``/``, a private ``/tmp`` (with the kit and its Python bound back in, read-only, when they
    live under ``/tmp``), the kernel's folder writable, no network, its own namespaces."""
    options = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for path in _needed_under_tmp():
        options += ["--ro-bind", path, path]
    if folder != "/":
        options += ["--bind", folder, folder, "--chdir", folder]
    return options + ["--unshare-all", "--die-with-parent", "--new-session"]


def _needed_under_tmp() -> list[str]:
    """The kit, its Python and every import path that the private ``/tmp`` would hide, outermost only."""
    kit = Path(__file__).resolve().parents[1]
    paths = {Path(p).resolve() for p in (sys.executable, sys.prefix, sys.base_prefix, kit, *sys.path) if p}
    under = sorted(p if p.is_dir() else p.parent for p in paths if Path("/tmp") in p.parents)
    return [str(p) for p in under if not any(q in p.parents for q in under)]


def _user_options() -> dict:
    return {"user": NOBODY, "group": NOBODY, "extra_groups": []} if as_nobody() else {}


@functools.lru_cache(maxsize=1)
def as_nobody() -> bool:
    """True when the grader is root and ``nobody`` can run this Python (then the kernel runs as nobody)."""
    if os.geteuid() != 0:
        return False
    try:
        return subprocess.run([sys.executable, "-I", "-c", "import numpy"], capture_output=True, timeout=60,
                              user=NOBODY, group=NOBODY, extra_groups=[]).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def tasks_in_tree(pid: int) -> int:
    """The threads of ``pid`` and of all its descendants (the process limit's watchdog for root)."""
    count, todo = 0, [pid]
    while todo:
        tasks = Path(f"/proc/{todo.pop()}/task")
        try:
            for task in tasks.iterdir():
                count += 1
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return count


def make_folder(notebook: Path) -> Path:
    """A new temporary folder holding a copy of ``notebook``, writable by the kernel's user."""
    folder = Path(tempfile.mkdtemp(prefix="lunar-grade-"))
    shutil.copyfile(notebook, folder / "submission.ipynb")
    if as_nobody():
        for path in (folder, folder / "submission.ipynb"):
            os.chown(path, NOBODY, NOBODY)
    return folder


def start(folder: Path, limits: Limits, mode: str) -> subprocess.Popen:
    """The kernel process, its stdin and stdout the grader's channel."""
    environment = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(folder),
                   "TMPDIR": str(folder), "MPLCONFIGDIR": str(folder), "TF_CPP_MIN_LOG_LEVEL": "3",
                   "SDL_VIDEODRIVER": "dummy", "MPLBACKEND": "Agg", "CUDA_VISIBLE_DEVICES": "",
                   "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}  # one core each, as lunar/
    command = [sys.executable, "-I", "-B", str(KERNEL), json.dumps(limits.rlimits())]
    if mode == "bubblewrap":
        command = [shutil.which("bwrap") or "bwrap", *_jail_options(str(folder)), *command]
    with open(folder / STARTUP_LOG, "wb") as errors:  # the kernel's own until it takes its channel
        return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
                                cwd=folder, env=environment, start_new_session=True, **_user_options())


def startup_error(folder: Path) -> str:
    """The last line the kernel printed before it took its channel: why it did not start, if it did not."""
    try:
        lines = (folder / STARTUP_LOG).read_bytes()[-4000:].decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""
