"""Where a submission's kernel runs: a scrubbed environment, a temporary folder, limits, a jail.

Each notebook gets a fresh kernel process (:mod:`grading.kernel`):

- its environment holds only ``PATH``, ``LANG`` and the kit's quiet settings; ``HOME``
  and ``TMPDIR`` are its own temporary folder, which is also its working folder (the
  notebook is copied there; the teacher's folder is never its working folder);
- it sets limits on its data memory, CPU time, file size and processes before any of the
  submission's code runs (:class:`Limits`);
- when the grader runs as root, the kernel runs as ``nobody`` where ``nobody`` can run this
  Python; otherwise as root, whose process count the grader watches instead (:func:`tasks_in_tree`);
- on Linux with bubblewrap (``bwrap``) present and working, it runs inside it: it sees, read-only,
  only the system's programs and libraries, this Python and the kit's packages
  (:func:`readable_paths`); its own folder writable, a private ``/tmp``, no network, its own
  process, IPC and user namespaces. Nothing else of the machine exists there: not the teacher's
  home, nor the folder of submissions, nor the rest of the kit's folder. Without bubblewrap the
  kernel reads the file system and uses the network with the rights of the user it runs as
  (:func:`isolation_line` says so in the report's first line).
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
        return "isolation: bubblewrap (only the system, Python and the kit, read-only; no network; own folder)"
    return ("isolation: none - submissions can read the teacher's files and use the network: install bubblewrap "
            "(apt-get install bubblewrap); each kernel still gets a scrubbed environment, its own folder and limits")


SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/sys", "/etc/alternatives",
                "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/passwd",
                "/etc/group", "/etc/nsswitch.conf", "/etc/fonts")
"""What the kernel reads of the system, read-only: programs, libraries, the dynamic loader's files and
the user and group names; nothing of ``/home``, ``/root``, ``/var``, ``/srv``, ``/mnt`` or ``/opt``."""
KIT_PARTS = ("lunar", "grading", "utils.py", "public_tests.py")
"""What the kernel reads of the kit: the packages it imports and the course's two modules, never the rest of
the kit's folder (a teacher's submissions may live there)."""


def _jail_options(folder: str) -> list[str]:
    """A private ``/tmp``; read-only, only what the kernel needs (:func:`readable_paths`, the system's
    symbolic links such as ``/lib64`` as links); the kernel's folder writable; no network, its own
    namespaces."""
    options = ["--tmpfs", "/tmp", "--dev", "/dev", "--proc", "/proc"]
    for path in SYSTEM_PATHS:
        if os.path.islink(path):
            options += ["--symlink", os.readlink(path), path]
    for path in readable_paths():
        options += ["--ro-bind", path, path]
    if folder != "/":
        options += ["--bind", folder, folder, "--chdir", folder]
    return options + ["--unshare-all", "--die-with-parent", "--new-session"]


def readable_paths() -> list[str]:
    """Everything the kernel may read, outermost only: :data:`SYSTEM_PATHS` (but symbolic links), this
    Python (its prefixes and every import path but the kit's own folder) and :data:`KIT_PARTS`."""
    kit = Path(__file__).resolve().parents[1]
    python = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
              os.path.dirname(sys.executable), os.path.dirname(os.path.realpath(sys.executable))}
    imports = {p for p in sys.path if p and Path(p).resolve() not in (kit, *kit.parents)}
    system = {p for p in SYSTEM_PATHS if not os.path.islink(p)}
    paths = {Path(p).resolve() for p in (*system, *python, *imports)} | {kit / part for part in KIT_PARTS}
    paths = sorted(p for p in paths if p.exists() and p != Path("/"))
    return [str(p) for p in paths if not any(q in p.parents for q in paths)]


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
