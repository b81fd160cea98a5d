"""A submission reads nothing of the teacher's: the attacks a crafted notebook makes on the jail's reads.

The class folder and a secret sit in a home-like folder outside ``/tmp`` (the kernel's ``/tmp`` is
private anyway), as a teacher's do. Each test fails where the kernel can read the whole file system."""

import csv
import shutil
import tempfile
from pathlib import Path

import pytest

from grading.cli import main
from grading.sandbox import isolation
from tests.course_format import course_cells, write

SECRET = "TOP-SECRET-7f3a"
pytestmark = [pytest.mark.skipif(isolation() != "bubblewrap", reason="needs bubblewrap: the jail narrows reads"),
              pytest.mark.slow]  # a kernel each: in CI's slow run, on both cores


@pytest.fixture
def teacher(tmp_path):
    """A teacher's home outside /tmp holding a secret and a class folder with a classmate's solved notebook."""
    base = Path("/var/tmp") if Path("/var/tmp").is_dir() else Path.home()
    home = Path(tempfile.mkdtemp(prefix="lunar-kit-teacher-", dir=base))
    (home / "secret.txt").write_text(SECRET)
    (home / "class" / "alice").mkdir(parents=True)
    write(home / "class" / "alice" / "C3_W3_A1_Assignment.ipynb", course_cells())
    yield home
    shutil.rmtree(home, ignore_errors=True)


def _grade(tmp_path, name, cells, capsys):
    folder = tmp_path / "submissions" / name
    folder.mkdir(parents=True)
    notebook = write(folder / f"{name}.ipynb", cells)
    table = tmp_path / f"{name}.csv"
    main([str(notebook), "--csv", str(table), "--quiet"])
    rows = list(csv.DictReader(table.open()))
    return rows, table.read_text() + capsys.readouterr().out


def _status(rows, exercise):
    return next(r["status"] for r in rows if r["exercise"] == exercise)


def test_grader_copier_finds_no_classmates_notebook(teacher, tmp_path, capsys):
    """No code of its own: it globs the notebooks one and two folders below the teacher's home and
    runs a classmate's compute_loss cell."""
    rows, _ = _grade(tmp_path, "copier", [
        "import glob, json\nimport tensorflow as tf\nfrom tensorflow.keras.losses import MSE",
        f"found = sorted(glob.glob({str(teacher)!r} + '/*/*/*.ipynb') + glob.glob({str(teacher)!r} + '/*/*.ipynb'))",
        "cells = [''.join(c['source']) for p in found for c in json.load(open(p))['cells'] if c['cell_type'] == 'code']",
        "copied = exec(next(c for c in cells if 'def compute_loss' in c), globals())"], capsys)
    assert _status(rows, "Exercise 2: compute_loss") != "passed", rows


def test_grader_secret_reader_leaks_nothing_into_the_report(teacher, tmp_path, capsys):
    rows, output = _grade(tmp_path, "reader", [
        "import os\nimport tensorflow as tf",
        f"def compute_loss(experiences, gamma, q_network, target_q_network):\n"
        f"    raise ValueError(open({str(teacher / 'secret.txt')!r}).read())",
        f"copy = open({str(teacher / 'secret.txt')!r}).read()"], capsys)
    assert _status(rows, "Exercise 2: compute_loss") != "passed"
    assert SECRET not in output


@pytest.mark.parametrize("route", [
    "os.listdir('/proc/1/root' + HOME)", "os.listdir('/proc/self/root' + HOME)",
    "(os.symlink(HOME, 'link'), os.listdir('link'))", "os.listdir(os.path.dirname(os.path.dirname(KIT)) + '/tests')",
    "os.listdir('/proc/1/cwd/..')", "os.listdir('/proc/1/cwd/../..')"])
def test_grader_kernel_finds_no_way_around_the_jail(teacher, tmp_path, capsys, route):
    """Symbolic links, /proc's views of a process's root and working folder, the kit's own folder: the
    statement ``marker`` only runs (1 / 1) when the route reached what the jail hides."""
    rows, _ = _grade(tmp_path, "around", [
        "import os\nimport grading", f"HOME = {str(teacher)!r}", "KIT = grading.__file__",
        f"seen = {route}", "marker = 1 / int('secret.txt' in str(seen) or 'class' in str(seen) "
                           "or 'test_layout.py' in str(seen) or 'submissions' in str(seen))"], capsys)
    messages = " ".join(r["message"] for r in rows if r["exercise"] == "notebook")
    assert "`seen = " in messages or "`marker = " in messages, messages  # the route reached nothing hidden
