"""``lunar-grade`` on the exercise notebook, a solved copy and copies with seeded mistakes."""

import csv
import json
from pathlib import Path

import nbformat
import pytest

from grading.notebook import definitions, graded_cells
from tests.exercise_notebook import EXERCISES, SOLVED, filled_copy, grade

ROOT = Path(__file__).resolve().parents[1]


def test_definitions_keep_imports_definitions_and_assignments_only():
    source = ("%matplotlib inline\n!pip install nothing\nimport numpy as np\nALPHA = 1e-3\n"
              "def f(x):\n    return x\nfor i in range(10**9):\n    pass\nprint(ALPHA)\nf(2)\n")
    kept = definitions(source)
    assert "import numpy as np" in kept and "ALPHA = 0.001" in kept and "def f(x)" in kept
    assert "for " not in kept and "print" not in kept and "pip" not in kept and "get_ipython" not in kept


def test_graded_cells_take_any_metadata_without_failing():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("y = 2")])
    nb.cells[0].metadata["tags"] = 5
    nb.cells[1].metadata = "not a mapping"
    assert [[s.source for s in c.statements] for c in graded_cells(nb)] == [["x = 1"], ["y = 2"]]
    assert graded_cells({"cells": "nonsense"}) == [] and graded_cells({"cells": [3, None]}) == []


def test_graded_cells_skip_tagged_cells_and_report_syntax_errors():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("y = (")])
    nb.cells.insert(1, nbformat.v4.new_code_cell("z = 2"))
    nb.cells[1].metadata["tags"] = ["skip-grading"]
    cells = graded_cells(nb)
    assert [c.number for c in cells] == [1, 3]
    assert [s.source for s in cells[0].statements] == ["x = 1"] and "syntax error in code cell 3" in cells[1].problem


@pytest.mark.slow
def test_grader_grades_exercise_solved_and_broken_notebooks_in_one_call(tmp_path):
    solved = filled_copy(tmp_path, "solved.ipynb", {})
    broken_loss = filled_copy(tmp_path, "broken_loss.ipynb", {
        "# UNQ_C2": SOLVED["# UNQ_C2"].replace("((1 - done_vals) * (gamma * max_qsa))", "gamma * max_qsa")})
    broken_learn = filled_copy(tmp_path, "broken_learn.ipynb", {
        "# UNQ_C3": SOLVED["# UNQ_C3"].replace("zip(gradients,", "zip([-g for g in gradients],")})
    table = tmp_path / "grades.csv"
    code, out, err = grade(EXERCISES, solved, broken_loss, broken_learn, "--csv", table)
    assert code == 1, err
    rows = list(csv.DictReader(table.open()))
    by = {(Path(r["notebook"]).name, r["exercise"]): r for r in rows}
    solved_rows = [r for r in rows if r["notebook"].endswith("solved.ipynb")]
    assert len(solved_rows) == 5 and all(r["status"] == "passed" for r in solved_rows), solved_rows
    assert by[("broken_loss.ipynb", "Exercise 2: compute_loss")]["message"].startswith(
        "terminal transitions must not bootstrap")
    assert "moved up the gradient" in by[("broken_learn.ipynb", "Exercise 3: agent_learn")]["message"]
    assert by[("broken_learn.ipynb", "Exercise 2: compute_loss")]["status"] == "passed"
    assert by[("lab_exercises.ipynb", "Exercise 1: q_network")]["message"].startswith(
        "not defined: q_network (code cell 5: `q_network = Sequential([` raised ValueError")
    assert "code cell 5: `target_q_network = Sequential([` raised ValueError" in \
        by[("lab_exercises.ipynb", "notebook")]["message"]
    assert "4 notebook(s), 12 passed, 10 failed" in out


@pytest.mark.slow
def test_grader_reports_cells_that_fail_or_hang_and_grades_own_helpers(tmp_path):
    notebook = filled_copy(tmp_path, "learner.ipynb", {"# UNQ_C1": SOLVED["# UNQ_C1"].replace(
        "optimizer = tf.keras.optimizers.Adam(learning_rate=ALPHA)", "optimizer = tf.keras.optimizers.Adam")},
        extra_cells=["def broken(:\n    pass",
                     "import time\nnap = time.sleep(60)",
                     "def get_action(q_values, epsilon=0.0):\n    return int(np.argmax(q_values))",
                     "def get_new_eps(epsilon):\n    return max(utils.E_MIN, utils.E_DECAY * epsilon)"])
    report = tmp_path / "grades.json"
    code, out, err = grade(notebook, "--json", report, "--cell-timeout", "8", "--quiet")
    assert code == 1, err
    rows = {r["exercise"]: r for r in json.loads(report.read_text()) if r["exercise"] != "notebook"}
    notebook_rows = [r["message"] for r in json.loads(report.read_text()) if r["exercise"] == "notebook"]
    assert any("syntax error in code cell" in m for m in notebook_rows), notebook_rows
    assert any("ran past the time limit" in m for m in notebook_rows), notebook_rows
    assert "the class Adam itself" in rows["Exercise 1: optimizer"]["message"]
    assert rows["Exercise 2: compute_loss"]["status"] == "passed"
    assert "every action must be possible" in rows["helper: get_action"]["message"]
    assert rows["helper: get_new_eps"]["status"] == "passed"
    assert "helper: get_experiences" not in rows  # the notebook uses utils', not its own


def test_grader_refuses_a_grades_file_whose_temporary_name_would_be_too_long_before_grading(tmp_path):
    table = tmp_path / ("c" * 250 + ".csv")  # fits the file system; the atomic writer's temporary name does not
    code, out, err = grade(EXERCISES, "--csv", table)
    assert code == 2 and "longer than the file system's" in err and err.count("\n") == 1, err
    assert "exercises passed" not in out  # refused before any notebook was graded


def test_grader_refuses_bad_input_with_one_line_and_writes_nothing(tmp_path):
    table = tmp_path / "grades.csv"
    for args in ([tmp_path / "missing.ipynb", "--csv", table], [EXERCISES, "--csv", tmp_path / "no" / "x.csv"],
                 [EXERCISES, "--json", tmp_path], [ROOT / "README.md"], [tmp_path],
                 [EXERCISES, "--cell-timeout", "-1"], [EXERCISES, "--cell-timeout", "nan"],
                 [tmp_path / ("n" * 5000 + ".ipynb")], [EXERCISES, "--csv", tmp_path / ("c" * 5000)],
                 [EXERCISES, "--csv", "/proc/grades.csv"], [EXERCISES, "--jobs", "0"],
                 [EXERCISES, "--memory-limit", "10"]):
        code, out, err = grade(*args)
        assert code == 2, (args, err)
        assert err.count("\n") == 1 and err.startswith("lunar-grade: error:"), err
        assert not table.exists()
