"""Hostile inputs from a fresh attack (issue "Every hostile input held"): each one line, exit 2, nothing written."""

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import lunar
import tabular
from lunar import training
from lunar.commands.cli import evaluate_main, train_main
from lunar.config import DQNConfig, load_toml
from lunar.errors import UserError
from lunar.commands.sweep.engine import check_address
from lunar.commands.sweep.cli import sweep_main
from lunar.commands.sweep.runner import Sweep
from tabular.errors import UserError as TabularUserError

ROOT = Path(__file__).resolve().parents[1]


def _one_line(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("text, words", [
    ("seed = " + "9" * 5000 + "\n", "not valid TOML"),
    ("gamma = " + "[" * 3000 + "]" * 3000 + "\n", "not valid TOML"),
])
def test_toml_that_breaks_the_parser_is_one_user_error(tmp_path, text, words):
    path = tmp_path / "hostile.toml"
    path.write_text(text)
    with pytest.raises(UserError, match=words):
        load_toml(path)


def test_train_cli_refuses_a_hostile_toml_in_one_line(tmp_path, capsys):
    (tmp_path / "deep.toml").write_text("gamma = " + "[" * 3000 + "]" * 3000 + "\n")
    out = tmp_path / "out"
    assert train_main(["--config", str(tmp_path / "deep.toml"), "--output-dir", str(out)]) == 2
    assert "not valid TOML" in _one_line(capsys) and not out.exists()


@pytest.mark.parametrize("every", [2.5, "5", True, 0])
def test_api_checkpoint_every_must_be_a_positive_integer(tmp_path, every):
    with pytest.raises(UserError, match="checkpoint_every must be a positive integer"):
        training.train(DQNConfig(env_id="CartPole-v1", num_episodes=1), tmp_path / "out", checkpoint_every=every)
    assert not (tmp_path / "out").exists()


def test_train_cli_checkpoint_every_zero_is_refused_not_replaced(tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as stopped:  # argparse refuses it, before any work
        train_main(["--env", "CartPole-v1", "--episodes", "1", "--checkpoint-every", "0", "--output-dir", str(out)])
    assert stopped.value.code == 2
    assert "--checkpoint-every" in _one_line(capsys) and not out.exists()


@pytest.mark.parametrize("address", ["127.0.0.1:\u00b2", "127.0.0.1:\u0663\u0663", "127.0.0.1:99999"])
def test_sweep_address_port_must_be_ascii_digits_in_range(address):
    with pytest.raises(UserError, match="give HOST:PORT"):
        check_address(address)


@pytest.mark.parametrize("plan", ["{not json", "[" * 3000])
def test_sweep_folder_with_a_corrupt_plan_is_one_user_error(tmp_path, plan):
    (tmp_path / "sweep.json").write_text(plan)
    with pytest.raises(UserError, match="sweep.json"):
        Sweep(tmp_path, [], 0).check()
    assert (tmp_path / "sweep.json").read_text() == plan


# ------------------------------------------------------ output targets probed before any work
LONG = "a" * 300  # longer than any file system's name limit (255 bytes)
MODEL = str(ROOT / "models" / "lunar_lander_model.h5")
SMALL_RUN = ["--env", "CartPole-v1", "--episodes", "2", "--max-num-timesteps", "20", "--quiet"]


def _listing(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


@pytest.mark.parametrize("command, args", [
    ("train", ["--output-dir", "{tmp}/" + LONG]),
    ("train", ["--output-dir", "{tmp}/out", "--tensorboard", "{tmp}/" + LONG]),
    ("train", ["--output-dir", "{tmp}/out", "--tensorboard", "/proc/lunar-kit-tb"]),
    ("evaluate", ["--model", "{tmp}/" + LONG + ".h5"]),
    ("evaluate", ["--csv", "{tmp}/" + LONG + ".csv", "--no-video"]),
    ("evaluate", ["--csv", "/proc/lunar-kit.csv", "--no-video"]),
    ("evaluate", ["--video", "/sys/lunar-kit.mp4"]),
    ("sweep", ["--config", str(ROOT / "configs" / "fast.toml"), "--output-dir", "{tmp}/" + LONG]),
])
def test_output_target_that_cannot_be_written_is_one_line_before_any_work(tmp_path, capsys, command, args):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if command == "train":
        code = train_main([*SMALL_RUN, *argv])
    elif command == "evaluate":
        code = evaluate_main(["--episodes", "1", *([] if "--model" in argv else ["--model", MODEL]), *argv])
    else:
        code = sweep_main([*argv, "--episodes", "1"])
    assert code == 2
    line = _one_line(capsys)
    assert "Traceback" not in line and ("not writable" in line or "too long" in line or "longer" in line), line
    assert _listing(tmp_path) == []


def test_evaluate_write_that_fails_after_scoring_is_one_line(tmp_path, capsys, monkeypatch):
    from lunar.run import atomic

    def full_disk(path, text):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(atomic, "write_text", full_disk)
    code = evaluate_main(["--model", MODEL, "--episodes", "1", "--no-video", "--csv", str(tmp_path / "e.csv")])
    assert code == 2
    line = _one_line(capsys)
    assert "e.csv" in line and "No space left on device" in line


@pytest.mark.parametrize("make, message", [
    (lambda out: (out / "checkpoints").write_text("x"), "keeps its checkpoints in a folder"),
    (lambda out: (out / "cartpole_v1_history.csv").mkdir(), "is a folder, not a file"),
    (lambda out: (out / "cartpole_v1_config.toml").mkdir(), "is a folder, not a file"),
])
def test_run_file_that_is_the_wrong_kind_is_refused_before_the_lock_and_config(tmp_path, capsys, make, message):
    make(tmp_path)
    before = _listing(tmp_path)
    assert train_main([*SMALL_RUN, "--output-dir", str(tmp_path)]) == 2
    assert message in _one_line(capsys)
    assert _listing(tmp_path) == before  # no lock file, no configuration, no checkpoint


def test_refused_resume_leaves_no_lock_file(tmp_path, capsys):
    (tmp_path / "checkpoints").mkdir()
    assert train_main([*SMALL_RUN, "--output-dir", str(tmp_path), "--resume"]) == 2
    assert "no valid checkpoint" in _one_line(capsys)
    assert _listing(tmp_path) == ["checkpoints"]


def test_finished_run_leaves_no_lock_file_and_a_second_run_still_locks(tmp_path):
    from lunar.run import lock

    assert train_main([*SMALL_RUN, "--output-dir", str(tmp_path)]) == 0
    assert not (tmp_path / lock.LOCK_NAME).exists()
    lock.acquire(tmp_path)
    try:
        other = subprocess.run([sys.executable, "-c", f"from lunar.run import lock; lock.acquire({str(tmp_path)!r})"],
                               capture_output=True, text=True, timeout=60)
        assert other.returncode != 0 and "is in use by another run" in other.stderr
    finally:
        lock.release(tmp_path)
    assert not (tmp_path / lock.LOCK_NAME).exists()


@pytest.mark.slow  # a fresh interpreter that imports TensorFlow: seconds each
def test_removed_environment_id_is_one_line_without_gymnasiums_warning(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "train.py"), "--env", "LunarLander-v2", "--output-dir",
                           str(tmp_path / "out"), "--quiet"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "LunarLander-v3" in done.stderr, done.stderr


# ------------------------------------------------------------------ the Python API
@pytest.mark.parametrize("call, words", [
    (lambda tmp: lunar.train(output_dir="a\0b", env_id="CartPole-v1", num_episodes=1), "not writable"),
    (lambda tmp: lunar.train(config="not a config", output_dir=tmp), "config must be a DQNConfig"),
    (lambda tmp: lunar.train(output_dir=3, env_id="CartPole-v1"), "must be a path"),
    (lambda tmp: lunar.train(output_dir=3, resume=True), "must be a path"),
    (lambda tmp: lunar.train(output_dir=" ", resume=True), "must not be empty"),
    (lambda tmp: lunar.evaluate(MODEL, episodes=0), "episodes must be a whole number"),
    (lambda tmp: lunar.evaluate(MODEL, episodes=2.5), "episodes must be a whole number"),
    (lambda tmp: lunar.evaluate(MODEL, episodes=1, seed=-1), "seed must be a whole number"),
    (lambda tmp: tabular.train("chain", alpha="x"), "alpha must be a number"),
    (lambda tmp: tabular.train("chain", states=2.5), "states must be a whole number"),
    (lambda tmp: tabular.train("chain", episodes=None), "episodes must be a whole number"),
    (lambda tmp: tabular.train("chain", seed=-1), "seed must be a whole number"),
    (lambda tmp: tabular.train("gridworld", goal=(2, 2)), "goal must be a string"),
    (lambda tmp: tabular.train("frozenlake", slippery="yes"), "slippery must be True or False"),
    (lambda tmp: tabular.train("mars-rover", variant="moon"), "variant must be 'seed' or 'course'"),
])
def test_api_nonsense_is_the_kits_own_user_error(tmp_path, call, words):
    with pytest.raises((UserError, TabularUserError), match=words):
        call(tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ lunar-tune's space
@pytest.mark.parametrize("line", ['alpha = { low = 0.001, high = "x" }', "alpha = { low = 0, high = 0.01, log = true }",
                                  'alpha = { low = 0.001, high = 0.01, log = "yes" }'])
def test_tune_space_with_a_bad_range_is_one_user_error(tmp_path, line):
    from lunar.commands.sweep.space import read_space

    (tmp_path / "fast.toml").write_text((ROOT / "configs" / "fast.toml").read_text())
    (tmp_path / "space.toml").write_text('base = "fast.toml"\nseeds = [1]\nmax_seconds = 100\n'
                                         f'\n[space]\n{line}\n')
    with pytest.raises(UserError, match="with numbers A < B"):
        read_space(tmp_path / "space.toml")


# ------------------------------------------------ the command lines in their own processes
@pytest.mark.slow  # a fresh interpreter that imports TensorFlow: seconds each
def test_console_script_refusal_is_one_line_without_tensorflows_start_up_log(tmp_path):
    script = Path(sys.executable).parent / "lunar-train"
    done = subprocess.run([str(script), "--env", "Nope-v0", "--output-dir", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"})
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_train_interrupted_during_start_up_is_one_line_and_exit_130(tmp_path, sig):
    proc = subprocess.Popen([sys.executable, str(ROOT / "train.py"), *SMALL_RUN, "--output-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # not inherited ignored
    time.sleep(1.0)  # importing TensorFlow
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and err.count("\n") == 1 and "Traceback" not in err, err


def test_tabular_write_that_fails_inside_the_gif_is_one_line(tmp_path):
    import resource

    def small_files():  # every file over 20 kB fails with EFBIG, as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    done = subprocess.run([sys.executable, "-m", "tabular", "frozenlake", "--episodes", "300", "--output-dir",
                           str(tmp_path)], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          preexec_fn=small_files)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "training.gif" in done.stderr and _listing(tmp_path) == []
