"""``lunar-grade --train``: the "learns" row, its pass mark, and real training in the kernel."""

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from grading.exercises import Result
from grading.learns import NEEDED, learns_row, learns_verdict, received_history
from lunar.config import DQNConfig
from lunar.reports.plotting import moving_average
from lunar.reports.reference import course_reference
from tests.course_format import C2_HEAD, course_cells, write
from tests.exercise_notebook import EXERCISES, SOLVED, filled_copy, grade

NO_DONE = C2_HEAD.format(targets="rewards + gamma * max_qsa", loss="MSE(y_targets, q_values)")


def _history(returns, steps=200):
    returns = np.asarray(returns, float)
    return pd.DataFrame({"episode": np.arange(1, len(returns) + 1), "return": returns,
                         "steps": np.full(len(returns), steps), "epsilon": 0.995 ** np.arange(len(returns)),
                         "loss": np.ones(len(returns)), "mean_q": np.zeros(len(returns)),
                         "moving_average": moving_average(returns, 100)})


def test_learns_pass_mark_is_halfway_from_the_start_median_to_the_bottom_tenth():
    reference = course_reference()
    mark = (reference.band(100)[50] + reference.band(300)[10]) / 2
    at, below = _history(np.full(300, mark + 0.01)), _history(np.full(300, mark - 0.01))
    verdict = learns_verdict(at, DQNConfig(num_episodes=300), greedy=-50.0)
    assert verdict.passed and verdict.mark == pytest.approx(mark)
    assert "greedy: -50 over 5 episodes" in verdict.message and f"pass mark {mark:.0f}" in verdict.message
    failed = learns_verdict(below, DQNConfig(num_episodes=300), greedy=None)
    assert not failed.passed and "below the bottom tenth" in failed.message


def test_learns_verdict_names_the_symptom_of_a_run_that_does_not_learn():
    verdict = learns_verdict(_history(np.full(300, -190.0)), DQNConfig(num_episodes=300), greedy=-120.0)
    assert not verdict.passed and "symptoms: no learning" in verdict.message


def test_learns_verdict_passes_a_run_that_solved_before_its_budget():
    returns = np.concatenate([np.full(100, -200.0), np.full(150, 230.0)])  # average >= 200 at episode 250
    assert learns_verdict(_history(returns), DQNConfig(num_episodes=300), greedy=None).passed


def test_learns_row_skips_training_unless_exercises_one_and_two_passed():
    rows = [Result(name, "passed") for name in NEEDED[:-1]] + [Result(NEEDED[-1], "failed", "wrong")]
    row = learns_row(kernel=None, rows=rows, episodes=300, seed=0, seconds=60.0)  # never reaches the kernel
    assert row.status == "skipped" and "Exercise 2: compute_loss" in row.message


def test_lab_code_as_defined_undoes_what_the_graded_tests_did():
    import keras

    from grading.kernel_training import as_defined, snapshot

    layers = lambda: [keras.layers.Input(shape=(8,)), keras.layers.Dense(4)]  # noqa: E731
    namespace = {"q_network": keras.Sequential(layers()), "target_q_network": keras.Sequential(layers()),
                 "optimizer": keras.optimizers.Adam(learning_rate=0.01), "compute_loss": len}
    before = [w.copy() for w in namespace["q_network"].get_weights()]
    saved = snapshot(namespace)
    namespace["q_network"].set_weights([w + 1 for w in before])  # what test_agent_learn does, in short
    variables = namespace["q_network"].trainable_variables
    namespace["optimizer"].apply_gradients(zip([keras.ops.ones_like(v) for v in variables], variables))
    parts = as_defined(namespace, saved)
    assert all(np.array_equal(a, b) for a, b in zip(parts["q_network"].get_weights(), before))
    assert int(parts["optimizer"].iterations) == 0 and float(parts["optimizer"].learning_rate) == pytest.approx(0.01)
    assert parts["compute_loss"] is len


class _Kernel:
    def decode_value(self, value):
        return value


@pytest.mark.parametrize("history", [
    {"return": [1.0, 2.0], "steps": [1.0], "epsilon": [1.0, 1.0], "loss": [0.0, 0.0], "mean_q": [0.0, 0.0]},
    {"return": [float("nan")], "steps": [1.0], "epsilon": [1.0], "loss": [0.0], "mean_q": [0.0]},
    {"return": [1.0] * 5, "steps": [1.0] * 5, "epsilon": [1.0] * 5, "loss": [0.0] * 5, "mean_q": [0.0] * 5},
])
def test_received_history_refuses_columns_that_do_not_make_a_run(history):
    with pytest.raises(ValueError):
        received_history(_Kernel(), {"history": history, "seconds": 1.0}, episodes=4)


def test_grader_refuses_a_train_budget_out_of_range_in_one_line(capsys):
    from grading.cli import main

    for budget in ("10", "5000", "x"):
        with pytest.raises(SystemExit) as stopped:
            main([str(EXERCISES), "--train", budget])
        err = capsys.readouterr().err
        assert stopped.value.code == 2 and err.count("\n") == 1 and "--train" in err, err


@pytest.mark.slow
def test_grader_train_passes_solved_code_and_fails_code_that_cannot_learn(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    filled_copy(folder, "solved.ipynb", {})
    write(folder / "no_done.ipynb", course_cells(c2=NO_DONE))  # fails Exercise 2: not trained
    # Passes the unit tests (Exercise 3's included, which sets the weights): its ReLUs never fire from the start
    filled_copy(folder, "zero_init.ipynb", {"# UNQ_C1": SOLVED["# UNQ_C1"].replace(
        'activation="relu")', 'activation="relu", kernel_initializer="zeros")')})
    table = tmp_path / "grades.csv"
    code, out, err = grade(folder, "--train", "--jobs", "2", "--csv", table, "--quiet")
    assert code == 1, err
    learns = {Path(r["notebook"]).name: r for r in csv.DictReader(table.open()) if r["exercise"] == "learns"}
    assert learns["solved.ipynb"]["status"] == "passed", learns["solved.ipynb"]
    assert learns["no_done.ipynb"]["status"] == "skipped"
    assert learns["zero_init.ipynb"]["status"] == "failed" and "no learning" in learns["zero_init.ipynb"]["message"]
    assert "solved.ipynb: 3 of 3 exercises passed; learns: passed" in out


def test_grader_table_prints_a_learners_brackets_as_written(capsys):
    from grading.cli import print_table
    from grading.submission import Report

    print_table(Report(Path("[lab].ipynb"), [Result("Exercise 2: compute_loss", "failed", "got [box2d] and [/]")]))
    out = capsys.readouterr().out
    assert "[box2d]" in out and "[/]" in out and "[lab].ipynb" in out
