"""Set-up wherever learners are: legacy Keras in the environment, hosted notebooks."""

import os
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

import public_tests

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _stderr_lines(code, **env):
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180,
                          env={**os.environ, **env})
    assert done.returncode == 0, done.stderr
    return [line for line in done.stderr.splitlines() if line.strip()]


@pytest.mark.slow  # a fresh interpreter that imports TensorFlow: seconds each
@pytest.mark.parametrize("code", ["import utils",
                                  "from lunar.run.tfsetup import import_tensorflow_quietly; import_tensorflow_quietly()"])
def test_legacy_keras_environment_gets_one_line_saying_what_to_do(code):
    lines = _stderr_lines(code, TF_USE_LEGACY_KERAS="1")
    assert len(lines) == 1, lines
    assert lines[0].startswith("lunar-kit: warning: TF_USE_LEGACY_KERAS=1") and "unset TF_USE_LEGACY_KERAS" in lines[0]
    assert _stderr_lines(code, TF_USE_LEGACY_KERAS="0") == []


def test_graded_tests_name_a_keras_2_model():
    keras2 = type("Sequential", (), {"__module__": "tf_keras.src.engine.sequential"})()
    with pytest.raises(AssertionError, match="Keras 2 object.*TF_USE_LEGACY_KERAS"):
        public_tests.test_network(keras2)


def _setup_cell(path):
    nb = nbformat.read(path, as_version=4)
    return next(c for c in nb.cells if c.cell_type == "code")


def test_every_notebook_starts_with_the_same_hosted_setup_cell():
    sources = {_setup_cell(path).source for path in NOTEBOOKS}
    assert len(NOTEBOOKS) == 3 and len(sources) == 1
    assert "hosted-setup" in _setup_cell(NOTEBOOKS[0]).metadata["tags"]


def _run_setup_cell(monkeypatch, tmp_path, hosted):
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda args, **kw: calls.append(args))
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE", raising=False)
    if hosted:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    (tmp_path / "lunar-kit" / "notebooks").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    path_before = list(sys.path)
    exec(_setup_cell(NOTEBOOKS[0]).source, {})
    path_added = [p for p in sys.path if p not in path_before]
    return calls, Path.cwd(), path_added


def test_hosted_setup_cell_does_nothing_on_a_local_machine(monkeypatch, tmp_path):
    calls, cwd, path_added = _run_setup_cell(monkeypatch, tmp_path, hosted=False)
    assert calls == [] and cwd == tmp_path and path_added == []


def test_hosted_setup_cell_installs_the_kit_on_colab(monkeypatch, tmp_path):
    calls, cwd, path_added = _run_setup_cell(monkeypatch, tmp_path, hosted=True)
    assert calls == [[sys.executable, "-m", "pip", "install", "--quiet", "-e", "lunar-kit"]]  # already cloned
    assert cwd == tmp_path / "lunar-kit" / "notebooks" and path_added == [str(tmp_path / "lunar-kit")]
