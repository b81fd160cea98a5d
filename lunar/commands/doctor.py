"""``lunar-doctor``: what the kit needs, what this machine has, and the one-line fix for each gap.

Each check returns a :class:`Check`: its name, what it found, and a fix when it is a problem.
Required checks (Python, TensorFlow, Keras, Gymnasium, Box2D, a LunarLander reset and frame,
the video writer) decide the exit code: 0 when all pass, 1 otherwise. Optional ones (the
extras, bubblewrap for lunar-grade, the devices) are reported and never fail it. Nothing is
written outside a temporary folder (the video writer's test file lives and dies there).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Callable, Sequence

EXIT_OK, EXIT_PROBLEM = 0, 1
SETUP = 'pip install -e ".[dev]"'


@dataclass(frozen=True)
class Check:
    name: str
    found: str
    fix: str = ""
    required: bool = True

    @property
    def ok(self) -> bool:
        return not self.fix


def installed_version(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None when it is not installed."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def check_python() -> Check:
    found = f"{sys.version.split()[0]} ({sys.executable})"
    if sys.version_info < (3, 10):
        return Check("Python", found, "use Python 3.10 to 3.13 (pyenv install 3.11, then a new virtual environment)")
    return Check("Python", found)


def check_tensorflow() -> Check:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        from lunar.run.tfsetup import import_tensorflow_quietly

        import_tensorflow_quietly()
        import tensorflow as tf
    except Exception as error:  # noqa: BLE001 - a broken install raises anything
        return Check("TensorFlow", f"cannot import: {type(error).__name__}: {str(error)[:120]}",
                     f"{SETUP} (TensorFlow 2.16 or later)")
    return Check("TensorFlow", tf.__version__)


def check_keras() -> Check:
    legacy = os.environ.get("TF_USE_LEGACY_KERAS", "")
    try:
        import keras
    except Exception as error:  # noqa: BLE001
        return Check("Keras", f"cannot import: {type(error).__name__}", f"{SETUP} (Keras 3)")
    found = f"{keras.__version__}" + (f", TF_USE_LEGACY_KERAS={legacy}" if legacy else "")
    if not keras.__version__.startswith("3."):
        return Check("Keras", found, 'pip install "keras>=3" (the kit is written for Keras 3)')
    if legacy.strip().lower() in ("1", "true", "yes"):
        return Check("Keras", found, "unset TF_USE_LEGACY_KERAS: it makes tf.keras Keras 2, and the kit needs Keras 3")
    return Check("Keras", found)


def check_gymnasium() -> Check:
    try:
        import gymnasium
    except Exception as error:  # noqa: BLE001
        return Check("Gymnasium", f"cannot import: {type(error).__name__}", f'{SETUP} (gymnasium[box2d] 1.x)')
    if not gymnasium.__version__.startswith("1."):
        return Check("Gymnasium", gymnasium.__version__, 'pip install "gymnasium[box2d]>=1.2.3,<2"')
    return Check("Gymnasium", gymnasium.__version__)


def check_box2d() -> Check:
    try:
        importlib.import_module("Box2D")
    except Exception as error:  # noqa: BLE001
        return Check("Box2D", f"cannot import Box2D: {type(error).__name__}: {str(error)[:100]}",
                     'pip install "gymnasium[box2d]" (building it needs swig: apt-get install swig, or '
                     "pip install swig first)")
    return Check("Box2D", installed_version("box2d") or installed_version("box2d-py") or "importable")


def check_lunar_lander() -> Check:
    try:
        import gymnasium

        env = gymnasium.make("LunarLander-v3", render_mode="rgb_array")
        try:
            state, _ = env.reset(seed=0)
            frame = env.render()
        finally:
            env.close()
    except Exception as error:  # noqa: BLE001
        return Check("LunarLander-v3", f"reset or render failed: {type(error).__name__}: {str(error)[:120]}",
                     "fix the Gymnasium and Box2D rows first; on a server without a display nothing else is needed "
                     "(rgb_array rendering uses no window)")
    return Check("LunarLander-v3", f"reset: {len(state)} state values; rendered frame {'x'.join(map(str, frame.shape))}")


def check_video_writer() -> Check:
    """A 3-frame mp4 written and read back in a temporary folder, as ``evaluate.py`` checks before it plays."""
    from lunar.commands.video import writer_problem

    problem = writer_problem(".mp4")
    if problem:
        return Check("video writer (mp4)", f"failed: {problem}",
                     'pip install "imageio>=2.31" "imageio-ffmpeg>=0.4.9" (it ships its own ffmpeg)')
    return Check("video writer (mp4)", f"wrote and read back 3 frames (imageio {installed_version('imageio')}, "
                 f"imageio-ffmpeg {installed_version('imageio-ffmpeg')})")


EXTRAS = (("notebooks and lunar-grade", ("nbformat", "nbclient", "ipykernel"), '.[dev]" or ".[grade]'),
          ("sweeps (lunar-sweep, lunar-tune)", ("ray", "optuna"), '.[sweep]'),
          ("model cards and --push", ("huggingface_hub",), '.[hub]'))


def check_extras() -> list[Check]:
    rows = []
    for purpose, modules, extra in EXTRAS:
        missing = [m for m in modules if importlib.util.find_spec(m) is None]
        found = "missing " + ", ".join(missing) if missing else "installed"
        rows.append(Check(f"extra: {purpose}", found, f'pip install -e "{extra}"' if missing else "", required=False))
    bwrap = shutil.which("bwrap")
    rows.append(Check("bubblewrap (lunar-grade's jail)", bwrap or "not found",
                      "" if bwrap else "apt-get install bubblewrap (without it lunar-grade runs kernels unjailed)",
                      required=False))
    return rows


def check_devices() -> Check:
    try:
        import tensorflow as tf

        devices = tf.config.list_physical_devices()
        names = []
        for device in devices:
            details = tf.config.experimental.get_device_details(device) if device.device_type == "GPU" else {}
            names.append(f"{device.device_type}" + (f" ({details['device_name']})" if details.get("device_name")
                                                     else ""))
    except Exception as error:  # noqa: BLE001
        return Check("devices", f"not listed: {type(error).__name__}", "", required=False)
    gpus = [n for n in names if n.startswith("GPU")]
    return Check("devices", ", ".join(names) + ("" if gpus else " (no GPU: the kit is fast on CPU)"), required=False)


CHECKS: tuple[Callable[[], Check | list[Check]], ...] = (
    check_python, check_tensorflow, check_keras, check_gymnasium, check_box2d, check_lunar_lander,
    check_video_writer, check_extras, check_devices)


def run_checks() -> list[Check]:
    rows: list[Check] = []
    for check in CHECKS:
        result = check()
        rows += result if isinstance(result, list) else [result]
    return rows


def print_table(rows: Sequence[Check]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="lunar-doctor", title_justify="left")
    for column in ("check", "status", "found", "fix"):
        table.add_column(column, overflow="fold")
    for row in rows:
        status = "[green]ok[/]" if row.ok else ("[red]problem[/]" if row.required else "[yellow]optional[/]")
        table.add_row(escape(row.name), status, escape(row.found), escape(row.fix))  # '[box2d]' is text
    Console().print(table)


def main(argv: Sequence[str] | None = None) -> int:
    from lunar.commands.commandline import OneLineParser

    parser = OneLineParser(prog="lunar-doctor", description=(
        "Check what lunar-kit needs on this machine: Python, TensorFlow, Keras (and TF_USE_LEGACY_KERAS), "
        "Gymnasium, Box2D, a LunarLander reset and frame, the video writer, the optional extras, bubblewrap and "
        "the devices. Each problem comes with its one-line fix. Exit 0 when everything the main commands need "
        "works, 1 otherwise; nothing is written outside a temporary folder."))
    parser.parse_args(argv)
    rows = run_checks()
    print_table(rows)
    problems = [row for row in rows if row.required and not row.ok]
    print(f"{len(problems)} problem(s): " + ", ".join(r.name for r in problems) if problems else
          "everything the kit's commands need works")
    return EXIT_PROBLEM if problems else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
