"""lunar-grade on notebooks in the course's own format, and on submissions that attack the grader."""

import csv
import os
from pathlib import Path

import pytest

from grading.cli import main
from grading.notebook import graded_cells
from grading.sandbox import isolation
from grading.submission import Options, Report, run_cells
from tests import course_format
from tests.course_format import course_cells, write


def rows_of(table: Path) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for row in csv.DictReader(table.open()):
        found.setdefault(Path(row["notebook"]).stem, []).append(row)
    return found


def status(rows: list[dict], exercise: str) -> str:
    return next(r["status"] for r in rows if r["exercise"] == exercise)


EXERCISE_1 = ("Exercise 1: q_network", "Exercise 1: target_q_network", "Exercise 1: optimizer")


@pytest.mark.slow
def test_grader_judges_each_course_format_variant_right(tmp_path, capsys):
    course_format.variants(tmp_path)
    for name in ("utils.py", "public_tests.py"):  # the course's own files beside the submissions
        (tmp_path / name).write_text("raise ImportError('the course platform file was imported')\n")
    table = tmp_path / "grades.csv"
    assert main([str(tmp_path), "--csv", str(table), "--jobs", "2", "--details"]) == 1
    out = capsys.readouterr().out
    by = rows_of(table)
    for name in ("solved", "no_markers", "gymnasium", "crashing"):
        assert all(status(by[name], e) == "passed" for e in (*EXERCISE_1, "Exercise 2: compute_loss")), by[name]
        assert status(by[name], "agent_learn (given by the course)") == "given"
        assert f"{name}.ipynb: 2 of 2 exercises passed" in out
    for name in ("solved", "no_markers", "gymnasium"):
        assert [r for r in by[name] if r["status"] not in ("passed", "given")] == [], by[name]
    crash = [r["message"] for r in by["crashing"] if r["exercise"] == "notebook"]
    assert crash == ["code cell 19: `broken_video = utils.create_video(undefined_filename, env)` raised NameError: "
                     "name 'undefined_filename' is not defined"], crash
    for name in ("blank", "stale"):
        assert all(status(by[name], e) == "failed" for e in (*EXERCISE_1, "Exercise 2: compute_loss")), by[name]
        assert f"{name}.ipynb: 0 of 2 exercises passed" in out
    assert status(by["partly"], "Exercise 1: optimizer") == "passed"
    loss = next(r for r in by["partly"] if r["exercise"] == "Exercise 2: compute_loss")
    assert loss["status"] == "failed" and loss["message"].startswith("terminal transitions must not bootstrap")
    assert "was made as Gymnasium's 'LunarLander-v3'" in out


def test_grader_grades_a_changed_course_agent_learn(tmp_path, capsys):
    changed = course_format.AGENT_LEARN.replace("zip(gradients,", "zip([-g for g in gradients],")
    cells = course_cells()
    cells[cells.index(course_format.AGENT_LEARN)] = changed
    table = tmp_path / "grades.csv"
    assert main([str(write(tmp_path / "changed.ipynb", cells)), "--csv", str(table), "--quiet"]) == 1
    rows = rows_of(table)["changed"]
    learn = next(r for r in rows if r["exercise"] == "agent_learn (changed from the course's)")
    assert learn["status"] == "failed" and "moved up the gradient" in learn["message"]


class FakeKernel:
    """Answers ``run_cell`` with the errors given for each cell, by statement index."""

    def __init__(self, errors: dict[int, dict[int, dict]]):
        self.errors, self.cell = errors, 0

    def run_cell(self, statements, seconds):
        self.cell += 1
        return {"errors": [{"index": i, **e} for i, e in self.errors.get(self.cell, {}).items()], "notes": []}


def test_run_cells_reports_each_cause_once():
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in (
        "import gym\nimport numpy as np", "env = gym.make('X')\nsize = env.shape\nn = 3",
        "net = make(size, n)\nother = undefined_name")])
    name_error = lambda name: {"type": "NameError", "message": f"name '{name}' is not defined"}  # noqa: E731
    kernel = FakeKernel({1: {0: {"type": "ModuleNotFoundError", "message": "No module named 'gym'"}},
                         2: {0: name_error("gym"), 1: name_error("env")},
                         3: {0: name_error("size"), 1: name_error("undefined_name")}})
    report = Report(Path("x.ipynb"))
    undefined = run_cells(kernel, graded_cells(notebook), Options(), report)
    assert [r.message for r in report.rows] == [
        "code cell 1: `import gym` raised ModuleNotFoundError: No module named 'gym'",
        "code cell 3: `other = undefined_name` raised NameError: name 'undefined_name' is not defined"]
    assert undefined["net"] == undefined["gym"] and "n" not in undefined


def hostile(tmp_path: Path, name: str, cells: list[str]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    return write(folder / f"{name}.ipynb", cells)


def test_grader_kernel_sees_neither_the_teachers_home_nor_secrets(tmp_path, monkeypatch, capsys):
    home = tmp_path / "teacher-home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("LUNAR_TEST_TOKEN", "s3cret")
    notebook_dir = tmp_path / "snoop"
    notebook = hostile(tmp_path, "snoop", [
        "import os", "leak = open(os.path.expanduser('~/x'), 'w').write('leaked')",
        "envcopy = dict(os.environ)", "token = envcopy['LUNAR_TEST_TOKEN']",
        f"planted = open({str(tmp_path / 'planted.txt')!r}, 'w').write('x')",
        "where = os.getcwd()", f"same = 1 / int(where != {str(notebook_dir)!r})"])
    table = tmp_path / "grades.csv"
    assert main([str(notebook), "--csv", str(table), "--quiet"]) == 1
    messages = [r["message"] for r in rows_of(table)["snoop"] if r["exercise"] == "notebook"]
    assert not (home / "x").exists()
    assert any("`token = envcopy['LUNAR_TEST_TOKEN']` raised KeyError" in m for m in messages), messages
    assert not any("leak = " in m for m in messages), messages  # it wrote into its own temporary home
    assert not any("same = " in m for m in messages), messages  # its working folder is not the teacher's
    assert sorted(p.name for p in notebook_dir.iterdir()) == ["snoop.ipynb"]
    if isolation() == "bubblewrap":
        assert not (tmp_path / "planted.txt").exists()
        assert any("planted = " in m for m in messages), messages


def test_grader_says_which_limit_a_statement_hit(tmp_path, capsys):
    notebook = hostile(tmp_path, "greedy", [
        "big = bytearray(3 * 1024**3)", "w = open('big.bin', 'wb').write(b'0' * (3 * 2**20))", "ok = 1"])
    table = tmp_path / "grades.csv"
    assert main([str(notebook), "--csv", str(table), "--quiet", "--memory-limit", "1024",
                 "--file-size-limit", "1"]) == 1
    messages = [r["message"] for r in rows_of(table)["greedy"] if r["exercise"] == "notebook"]
    assert messages == ["code cell 1: `big = bytearray(3 * 1024**3)` hit the memory limit (1024 MiB)",
                        "code cell 2: `w = open('big.bin', 'wb').write(b'0' * (3 * 2**20))` hit the file-size "
                        "limit (1 MiB)"], messages


@pytest.mark.slow
def test_grader_stops_a_kernel_past_its_cpu_time(tmp_path, capsys):
    notebook = hostile(tmp_path, "spin", ["spin = sum(i * i for i in range(10**11))", "after = 1"])
    table = tmp_path / "grades.csv"
    assert main([str(notebook), "--csv", str(table), "--quiet", "--cpu-limit", "10"]) == 1
    messages = [r["message"] for r in rows_of(table)["spin"]]
    assert "code cell 1: it used its 10 s of CPU time (the CPU-time limit); the cells after it did not run" \
        in messages, messages


@pytest.mark.slow
def test_grader_stops_a_kernel_past_its_process_limit(tmp_path, capsys):
    notebook = hostile(tmp_path, "forks", [
        "import subprocess", "procs = [subprocess.Popen(['sleep', '30']) for _ in range(150)]",
        "waited = [p.wait() for p in procs]"])
    table = tmp_path / "grades.csv"
    assert main([str(notebook), "--csv", str(table), "--quiet", "--process-limit", "64"]) == 1
    messages = [r["message"] for r in rows_of(table)["forks"] if r["exercise"] == "notebook"]
    assert len(messages) == 1 and "process limit" in messages[0], messages


PASSED_ROW = '{"exercise": "Exercise 1: q_network", "status": "passed", "message": ""}'
FRAME_WALKER = """def compute_loss(experiences, gamma, q_network, target_q_network):
    import inspect, sys
    frame = inspect.currentframe()
    while frame is not None:
        frame.f_globals.update(grade=lambda *a, **k: [], _passed=lambda: None)
        frame = frame.f_back
    sys.stdout.write('LUNAR_GRADE_RESULTS:[]')
    return 0.0"""
FORGERIES = {
    "grade replaced": ["import grading.exercises", "grading.exercises.grade = lambda *args, **kwargs: "
                       "[dict(exercise=f'Exercise {i}', status='passed', message='') for i in range(5)]"],
    "print rebound": ["import builtins", "print = lambda *args, **kwargs: builtins.print("
                      f"'LUNAR_GRADE_RESULTS:[{PASSED_ROW}]')"],
    "tests replaced": ["import public_tests", "public_tests.test_network = public_tests.test_optimizer = "
                       "public_tests.test_compute_loss = lambda *args: None",
                       "q_network = target_q_network = optimizer = 1", "compute_loss = len"],
    "frames rewritten from inside a function": [FRAME_WALKER],
}


@pytest.mark.parametrize("trick", FORGERIES)
def test_grader_verdicts_cannot_be_forged(tmp_path, capsys, trick):
    table = tmp_path / "grades.csv"
    notebook = hostile(tmp_path, "forger", FORGERIES[trick])
    assert main([str(notebook), "--csv", str(table), "--quiet"]) == 1
    rows = rows_of(table)["forger"]
    assert not [r for r in rows if r["status"] == "passed"], rows
    assert status(rows, "Exercise 1: q_network") == "failed"
    assert status(rows, "Exercise 2: compute_loss") == "failed"


def test_grader_survives_a_kernel_that_writes_on_its_channel(tmp_path, capsys):
    table = tmp_path / "grades.csv"
    notebook = hostile(tmp_path, "jammer", [
        "import os", "jam = [os.write(fd, b'\\x00\\x00\\x00\\x0f{\"errors\": []}') for fd in range(3, 8) "
        "if fd not in (0, 1, 2)]", "q_network = 1"])
    assert main([str(notebook), "--csv", str(table), "--quiet"]) == 1
    assert not [r for r in rows_of(table)["jammer"] if r["status"] == "passed"]


@pytest.mark.slow
def test_grader_time_limit_holds_when_a_cell_ignores_its_alarm(tmp_path, capsys):
    notebook = hostile(tmp_path, "stubborn", [
        "import signal, time", "ignored = signal.signal(signal.SIGALRM, signal.SIG_IGN)\nnap = time.sleep(600)"])
    table = tmp_path / "grades.csv"
    assert main([str(notebook), "--csv", str(table), "--quiet", "--cell-timeout", "3"]) == 1
    messages = [r["message"] for r in rows_of(table)["stubborn"]]
    assert "code cell 2 ran past the time limit (3 s) and was stopped" in messages, messages


@pytest.mark.slow
def test_grader_interrupted_writes_no_grades_and_stops_its_kernels(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    notebook = hostile(tmp_path, "slow", ["import time", "nap = time.sleep(600)"])
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    table = tmp_path / "grades.csv"
    grader = subprocess.Popen([sys.executable, "-m", "grading", str(notebook), "--csv", str(table)],
                              env={**os.environ, "TMPDIR": str(scratch)}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,  # Ctrl-C as on a terminal (xdist ignores it)
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not list(scratch.glob("lunar-grade-*/.kernel-startup.log")):  # the kernel has started
        assert grader.poll() is None and time.monotonic() < deadline, grader.communicate()
        time.sleep(0.05)
    grader.send_signal(signal.SIGINT)
    _, err = grader.communicate(timeout=60)
    assert grader.returncode == 130, err
    assert err.strip() == "lunar-grade: interrupted: no grades written (every kernel stopped)", err
    assert not table.exists() and not list(scratch.glob("lunar-grade-*"))


def test_grader_takes_a_string_bound_to_a_graded_name_as_a_value(tmp_path, capsys):
    table = tmp_path / "grades.csv"
    notebook = hostile(tmp_path, "strings", ["q_network = 'a network, in words'", "compute_loss = 'a loss'"])
    assert main([str(notebook), "--csv", str(table), "--quiet"]) == 1
    rows = {r["exercise"]: r["message"] for r in rows_of(table)["strings"]}
    assert rows["Exercise 1: q_network"] == "the network should be a keras Sequential, got str", rows
    assert rows["Exercise 2: compute_loss"] == "TypeError: 'str' object is not callable", rows


def test_grader_interrupted_while_its_kernel_starts_removes_the_kernels_folder(tmp_path, monkeypatch):
    from grading import submission

    folders = []
    real_make_folder = submission.make_folder

    def recorded(path):
        folders.append(real_make_folder(path))
        return folders[-1]

    def interrupted_start(folder, limits, mode):  # Ctrl-C while the kernel process is being started
        (folder / ".kernel-startup.log").write_text("")
        raise KeyboardInterrupt

    monkeypatch.setattr(submission, "make_folder", recorded)
    monkeypatch.setattr(submission, "start", interrupted_start)
    notebook = write(tmp_path / "lab.ipynb", course_cells())
    with pytest.raises(KeyboardInterrupt):
        submission.grade_notebook(notebook, Options())
    assert folders and not folders[0].exists()
