"""``python train.py --notebook``: a learner's lab notebook trained in the kit's loop, after its graded tests."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from grading.lab import train_main
from lunar.commands.cli import train_main as kit_train_main
from tests.course_format import C2_HEAD, course_cells, write

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--episodes", "2", "--max-num-timesteps", "40", "--memory-size", "1000", "--minibatch-size", "16", "--quiet"]
NO_DONE = C2_HEAD.format(targets="rewards + gamma * max_qsa", loss="MSE(y_targets, q_values)")  # forgets 1 - done


def _err_lines(capsys):
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_notebook_as_learners_submit_it_trains_in_the_kits_loop(tmp_path, capsys):
    notebook = write(tmp_path / "C3_W3_A1_Assignment.ipynb", course_cells())  # import gym, LunarLander-v2, ...
    assert train_main(["--notebook", str(notebook), "--output-dir", str(tmp_path / "run"), *TINY]) == 0
    history = pd.read_csv(tmp_path / "run" / "lunar_lander_history.csv")
    assert len(history) == 2 and history["loss"].notna().any()  # its compute_loss ran in updates
    assert "gym" not in sys.modules  # the compatibility layer left with the notebook's load


def test_notebook_run_repeats_with_its_seed(tmp_path):
    notebook = write(tmp_path / "lab.ipynb", course_cells())
    for run in ("a", "b"):
        assert train_main(["--notebook", str(notebook), "--output-dir", str(tmp_path / run), *TINY]) == 0
    a, b = (pd.read_csv(tmp_path / run / "lunar_lander_history.csv").drop(columns="elapsed_seconds") for run in "ab")
    pd.testing.assert_frame_equal(a, b)


def test_notebook_whose_loss_fails_its_graded_test_is_refused_unless_forced(tmp_path, capsys):
    notebook = write(tmp_path / "lab.ipynb", course_cells(c2=NO_DONE))
    assert train_main(["--notebook", str(notebook), "--output-dir", str(tmp_path / "run"), *TINY]) == 2
    (line,) = _err_lines(capsys)
    assert "Exercise 2: compute_loss fails its graded test" in line and "--force" in line
    assert not (tmp_path / "run").exists()
    assert train_main(["--notebook", str(notebook), "--output-dir", str(tmp_path / "run"), *TINY, "--force"]) == 0
    assert "trained anyway (--force)" in capsys.readouterr().err


def test_notebook_with_the_exercises_unsolved_is_refused_in_one_line(tmp_path, capsys):
    code = train_main(["--notebook", str(ROOT / "notebooks" / "lab_exercises.ipynb"), "--output-dir",
                       str(tmp_path / "run"), *TINY])
    assert code == 2 and "fails its graded test" in _err_lines(capsys)[0]


def test_notebook_flag_without_the_loader_is_refused(tmp_path, capsys):
    notebook = write(tmp_path / "lab.ipynb", course_cells())
    assert kit_train_main(["--notebook", str(notebook), "--output-dir", str(tmp_path / "run")]) == 2
    assert "needs lunar-kit's grading package" in _err_lines(capsys)[0]


def test_notebook_run_resumed_repeats_the_run_in_one_go(tmp_path, capsys):
    notebook = write(tmp_path / "lab.ipynb", course_cells())
    whole, split = tmp_path / "whole", tmp_path / "split"
    assert train_main(["--notebook", str(notebook), "--output-dir", str(whole), *TINY[2:], "--episodes", "4"]) == 0
    assert train_main(["--notebook", str(notebook), "--output-dir", str(split), *TINY[2:], "--episodes", "2",
                       "--checkpoint-every", "1"]) == 0
    assert train_main(["--notebook", str(notebook), "--resume", str(split), "--episodes", "4", "--force",
                       "--quiet"]) == 0
    a, b = (pd.read_csv(folder / "lunar_lander_history.csv").drop(columns="elapsed_seconds")
            for folder in (whole, split))
    pd.testing.assert_frame_equal(a, b)


def test_notebook_run_and_kit_run_refuse_each_others_checkpoints(tmp_path, capsys):
    notebook = write(tmp_path / "lab.ipynb", course_cells())
    lab, kit = tmp_path / "lab", tmp_path / "kit"
    assert train_main(["--notebook", str(notebook), "--output-dir", str(lab), *TINY]) == 0
    assert kit_train_main(["--output-dir", str(kit), *TINY]) == 0
    capsys.readouterr()
    assert kit_train_main(["--resume", str(lab), "--episodes", "3", "--force"]) == 2
    assert "the checkpoint trained your compute_loss" in _err_lines(capsys)[0]
    assert train_main(["--notebook", str(notebook), "--resume", str(kit), "--episodes", "3", "--force"]) == 2
    assert "the checkpoint trained the kit's own code" in _err_lines(capsys)[0]


@pytest.mark.slow  # two fresh interpreters
@pytest.mark.parametrize("script", ["train.py", "lunar-train"])
def test_notebook_flag_works_from_the_script_and_the_console_script_into_runs_by_default(tmp_path, script):
    notebook = write(tmp_path / "lab.ipynb", course_cells())
    command = [sys.executable, str(ROOT / "train.py")] if script == "train.py" else \
        [str(Path(sys.executable).parent / "lunar-train")]
    done = subprocess.run([*command, "--notebook", str(notebook), *TINY],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "runs" / "lab" / "lunar_lander_history.csv").is_file()  # never over the kit's models/


@pytest.mark.slow
def test_notebook_with_an_undiscounted_loss_trained_anyway_is_named_hovering(tmp_path, capsys):
    """A real run of known-bad code: y = R + max Q (gamma forgotten) is refused, then, with --force, hovers."""
    no_gamma = C2_HEAD.format(targets="rewards + max_qsa * (1 - done_vals)", loss="MSE(y_targets, q_values)")
    notebook = write(tmp_path / "lab.ipynb", course_cells(c2=no_gamma))
    assert train_main(["--notebook", str(notebook), "--output-dir", str(tmp_path / "run"), "--quiet"]) == 2
    assert train_main(["--notebook", str(notebook), "--output-dir", str(tmp_path / "run"), "--quiet", "--force",
                       "--episodes", "400", "--seed", "0"]) == 0
    symptoms = (tmp_path / "run" / "lunar_lander_symptoms.txt").read_text()
    assert symptoms.startswith("hovering until the time limit"), symptoms
    assert "symptom: hovering until the time limit" in capsys.readouterr().out


def test_notebook_own_agent_learn_trains_when_asked_and_needs_the_notebook(tmp_path, capsys, caplog):
    notebook = write(tmp_path / "lab.ipynb", course_cells())  # the course's given agent_learn
    run = tmp_path / "run"
    assert train_main(["--notebook", str(notebook), "--agent-learn", "--output-dir", str(run), *TINY[:-1]]) == 0
    assert "your agent_learn runs as it is" in capsys.readouterr().out
    history = pd.read_csv(run / "lunar_lander_history.csv")
    assert history["loss"].isna().all() and history["mean_q"].notna().any()  # it returns no loss; it updated
    assert "could not transform" not in caplog.text  # AutoGraph found the notebook's source
    assert kit_train_main(["--agent-learn", "--output-dir", str(tmp_path / "kit"), *TINY]) == 2
    assert "--agent-learn needs --notebook" in _err_lines(capsys)[0]


@pytest.mark.parametrize("content", [
    '{"metadata": {}, "nbformat": 4}', '[1, 2, 3]', '{"cells": "print(1)", "metadata": {}, "nbformat": 4, '
    '"nbformat_minor": 5}', '{"cells": [1, 2], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
    '{"cells": [{"cell_type": "code", "source": 7, "metadata": {}, "outputs": []}], "metadata": {}, '
    '"nbformat": 4, "nbformat_minor": 5}', '{"hello": "world"}', 'not json at all'])
def test_lab_notebook_malformed_is_one_line_and_exit_2(tmp_path, capsys, content):
    from grading.lab import train_main

    path = tmp_path / "broken.ipynb"
    path.write_text(content)
    assert train_main(["--notebook", str(path), "--episodes", "1", "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "broken.ipynb" in err[0] and "Traceback" not in err[0], err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["gymnasium_v2", "keras_losses_mse", "tf_keras_mean_squared_error", "adam_lr",
                                  "input_int", "blank_then_solved"])
def test_lab_notebook_loads_each_class_of_real_copy_whole(tmp_path, name):
    from grading.lab import lab_code_from
    from tests.course_format import real_copy

    code = lab_code_from(real_copy(tmp_path, name), force=False, message=lambda text: None)
    assert set(code.given()) == {"compute_loss", "q_network", "target_q_network", "optimizer"}, code.notes
    assert not any("could not be used" in line for line in code.notes), code.notes


@pytest.mark.slow
def test_lab_notebook_says_which_parts_it_could_not_use(tmp_path):
    from grading.lab import lab_code_from
    from tests.course_format import C1_SOLVED, course_cells

    broken = C1_SOLVED.replace("Input(shape=state_size)", "Input(shape=state_size, no_such_argument=1)")
    code = lab_code_from(write(tmp_path / "lab.ipynb", course_cells(c1=broken)), force=False,
                         message=lambda text: None)
    assert code.given() == ["compute_loss", "optimizer"]
    assert any(line.startswith("note: your q_network, target_q_network could not be used (code cell 9")
               for line in code.notes), code.notes


@pytest.mark.slow
def test_lab_notebook_refuses_legacy_keras_saying_what_to_import(tmp_path):
    from grading.lab import lab_code_from
    from lunar.errors import UserError
    from tests.course_format import real_copy

    with pytest.raises(UserError, match="import Sequential from tensorflow.keras"):
        lab_code_from(real_copy(tmp_path, "legacy_keras"), force=False, message=lambda text: None)
