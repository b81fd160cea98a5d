"""Classes of notebook that learners really submitted, in the course's format: each graded as the course's
own tests grade it in the course's environment, with rows a learner can act on (issue 36)."""

import csv

import pytest

from grading.cli import main
from tests.course_format import REAL_COPIES, real_copy

EXERCISES = ("Exercise 1: q_network", "Exercise 1: target_q_network", "Exercise 1: optimizer",
             "Exercise 2: compute_loss")
PASSES = [name for name in REAL_COPIES if name != "legacy_keras"]
pytestmark = pytest.mark.slow  # a kernel each: in CI's slow run, on both cores


def _grade(tmp_path, name, capsys):
    notebook = real_copy(tmp_path, name)
    table = tmp_path / f"{name}.csv"
    main([str(notebook), "--csv", str(table)])
    return {r["exercise"]: r for r in csv.DictReader(table.open())}, capsys.readouterr().out


@pytest.mark.parametrize("name", PASSES)
def test_grader_passes_what_the_course_environment_passed(tmp_path, capsys, name):
    rows, _ = _grade(tmp_path, name, capsys)
    assert {e: rows[e]["status"] for e in EXERCISES} == dict.fromkeys(EXERCISES, "passed"), rows


@pytest.mark.parametrize("name, said", [("gymnasium_v2", "'LunarLander-v2') was made as Gymnasium's 'LunarLander-v3'"),
                                        ("adam_lr", "Adam(lr=...) was read as Adam(learning_rate=...)"),
                                        ("input_int", "Input(8) was read as Input(shape=(8,))")])
def test_grader_says_each_substitution_once(tmp_path, capsys, name, said):
    _, output = _grade(tmp_path, name, capsys)
    assert output.count(said) == 1, output


def test_grader_legacy_keras_row_says_what_to_import(tmp_path, capsys):
    rows, output = _grade(tmp_path, "legacy_keras", capsys)
    message = rows["Exercise 1: q_network"]["message"]
    assert rows["Exercise 1: q_network"]["status"] == "failed"
    assert "tensorflow.python.keras" in message and "tensorflow.keras" in message, message
    assert "RemoteFunction" not in output and "RemoteFunction" not in str(rows)


def test_grader_blank_graded_cell_solved_later_says_so(tmp_path, capsys):
    rows, _ = _grade(tmp_path, "blank_then_solved", capsys)
    row = rows["Exercise 2: compute_loss"]
    assert row["status"] == "passed"
    assert "UNQ_C2" in row["message"] and "unfinished" in row["message"] and "code cell" in row["message"], row


def test_grader_messages_carry_no_path_of_the_teachers_machine(tmp_path, capsys):
    import sys

    rows, output = _grade(tmp_path, "keras_losses_mse", capsys)
    assert sys.prefix not in str(rows) and "site-packages" not in str(rows), rows
