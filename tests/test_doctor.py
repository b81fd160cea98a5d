"""``lunar-doctor``: one row per thing the kit needs; a broken part is named with its fix and exit 1."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lunar.commands.doctor import check_keras, run_checks

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = ["Python", "TensorFlow", "Keras", "Gymnasium", "Box2D", "LunarLander-v3", "video writer (mp4)"]


def _broken(tmp_path: Path, module: str) -> dict:
    """An environment where importing ``module`` raises ImportError (a package that refuses to load)."""
    shadow = tmp_path / "shadow" / module
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(f"raise ImportError('{module} is broken here (test)')\n")
    return {**os.environ, "PYTHONPATH": f"{shadow.parent}{os.pathsep}{ROOT}", "TMPDIR": str(tmp_path / "tmp")}


def _run(args, env, cwd):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def test_doctor_checks_every_required_part_and_all_pass_here():
    rows = run_checks()
    required = [row for row in rows if row.required]
    assert [row.name for row in required] == REQUIRED
    assert all(row.ok for row in required), [(row.name, row.found) for row in required if not row.ok]
    assert any(row.name == "devices" and "CPU" in row.found for row in rows)


def test_doctor_names_legacy_keras_as_a_problem(monkeypatch):
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "1")
    row = check_keras()
    assert not row.ok and "unset TF_USE_LEGACY_KERAS" in row.fix


@pytest.mark.slow  # a fresh interpreter, TensorFlow and all
def test_doctor_without_box2d_names_its_row_and_exits_1_writing_nothing(tmp_path):
    env = _broken(tmp_path, "Box2D")
    (tmp_path / "tmp").mkdir()
    work = tmp_path / "work"
    work.mkdir()
    done = _run(["-m", "lunar.commands.doctor"], env, work)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 problem(s): Box2D, LunarLander-v3" in done.stdout
    assert "swig" in done.stdout and "gymnasium[box2d]" in done.stdout  # the fix, printed as written
    assert not list(work.iterdir()) and not list((tmp_path / "tmp").iterdir())


@pytest.mark.slow
@pytest.mark.parametrize("command", [["-m", "lunar.commands.doctor"], ["evaluate.py", "--episodes", "1"],
                                     ["evaluate.py", "--package", "PKG"]])
def test_doctor_and_evaluate_find_a_broken_video_writer_before_any_episode(tmp_path, command):
    env = _broken(tmp_path, "imageio_ffmpeg")
    (tmp_path / "tmp").mkdir()
    command = [str(tmp_path / "PKG") if part == "PKG" else part for part in command]  # never in the repository
    script = [str(ROOT / command[0]), *command[1:]] if command[0].endswith(".py") else command
    done = _run(script, env, ROOT if command[0] == "evaluate.py" else tmp_path)
    if command[0] == "evaluate.py":
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert "cannot write" in done.stderr and "mean" not in done.stdout  # no episode played
        assert not (tmp_path / "PKG").exists()
    else:
        assert done.returncode == 1 and "1 problem(s): video writer (mp4)" in done.stdout, done.stdout
