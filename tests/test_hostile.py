"""Nothing lost under hostile conditions: one run per output folder, one line for every failed
write, a checkpoint reader that trusts nothing, and every number checked before any work.
Small CartPole runs; crafted checkpoints carry a recomputed checksum, as a deliberate forger's would."""

import errno
import io
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bench.crafted import forge
from lunar.run import checkpoint as ckpt
from lunar.commands.cli import evaluate_main, train_main
from lunar.config import DQNConfig
from lunar.errors import UserError
from lunar.training import train

ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(env_id="CartPole-v1", memory_size=5_000, minibatch_size=32, target_score=1e9,
             max_num_timesteps=50, seed=5)
FLAGS = ["--env", "CartPole-v1", "--memory-size", "5000", "--minibatch-size", "32", "--target-score", "1e9",
         "--max-num-timesteps", "50", "--seed", "5", "--quiet"]


def _listing(path):
    return sorted((str(p.relative_to(path)), p.stat().st_size) for p in path.rglob("*") if p.is_file())


def _one_line(capsys):
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1, err
    return err[0]


def _cli(*args):
    return subprocess.Popen([sys.executable, str(ROOT / "train.py"), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)


# ------------------------------------------------------------ 1. one run per folder
@pytest.mark.slow
def test_output_folder_second_run_is_refused_and_a_killed_run_leaves_no_lock(tmp_path):
    first = _cli(*FLAGS, "--episodes", "100000", "--checkpoint-every", "2", "--output-dir", str(tmp_path))
    deadline = time.time() + 120
    while not ckpt.list_checkpoints(tmp_path / "checkpoints"):
        assert first.poll() is None and time.time() < deadline, first.communicate()
        time.sleep(0.05)
    config_before = (tmp_path / "cartpole_v1_config.toml").read_text()
    for extra in ([], ["--resume"]):
        second = subprocess.run([sys.executable, str(ROOT / "train.py"), *FLAGS, "--seed", "6", "--episodes", "4",
                                 "--output-dir", str(tmp_path), *extra], capture_output=True, text=True, cwd=ROOT,
                                timeout=120)
        assert second.returncode == 2, second.stderr
        assert "is in use by another run (pid" in second.stderr and second.stderr.count("\n") == 1
    assert (tmp_path / "cartpole_v1_config.toml").read_text() == config_before  # seed 5's, untouched
    first.send_signal(signal.SIGKILL)
    first.wait()
    resumed = subprocess.run([sys.executable, str(ROOT / "train.py"), *FLAGS, "--episodes", "100000", "--resume",
                              str(tmp_path), "--force", "--episodes", "1"], capture_output=True, text=True, cwd=ROOT,
                             timeout=120)
    assert "in use" not in resumed.stderr  # the kernel released the killed run's lock


# ------------------------------------------------------ 2. failed writes are one line
def test_lock_holds_even_when_the_disk_is_too_full_for_its_pid(tmp_path, monkeypatch):
    import os

    from lunar.run import lock

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    lock.acquire(tmp_path)  # found by bench/stress.py: this raised a traceback on a full disk
    monkeypatch.undo()
    try:
        second = subprocess.run([sys.executable, "-c", f"from lunar.run import lock; lock.acquire({str(tmp_path)!r})"],
                                capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert "is in use by another run (pid unknown)" in second.stderr, second.stderr
    finally:
        lock.release(tmp_path)


def test_full_disk_during_a_checkpoint_is_one_line_naming_file_and_last_good_checkpoint(tmp_path, capsys,
                                                                                          monkeypatch):
    real = ckpt._write_synced
    calls = []

    def fill_up(path, data):
        calls.append(path)
        if len(calls) > 8:  # the first two checkpoints (4 files each) fit, the third does not
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(ckpt, "_write_synced", fill_up)
    assert train_main([*FLAGS, "--episodes", "20", "--checkpoint-every", "3", "--output-dir", str(tmp_path)]) == 2
    line = _one_line(capsys)
    assert "could not write" in line and "No space left on device" in line and "ckpt-000009" in line, line
    assert "the last good checkpoint is" in line and "ckpt-000006" in line
    assert [p.name for p in ckpt.list_checkpoints(tmp_path / "checkpoints")] == ["ckpt-000006", "ckpt-000003"]


@pytest.mark.parametrize("where, named_file", [("history", "cartpole_v1_history.csv"), ("checkpoint", "agent.npz")])
def test_failed_write_that_names_no_file_is_reported_with_its_file(tmp_path, capsys, monkeypatch, where, named_file):
    import os
    import pathlib

    def no_space(*args):  # write() and fsync() on a full disk raise OSError without a file name
        raise OSError(errno.ENOSPC, "No space left on device")

    if where == "history":
        real = pathlib.Path.write_bytes
        monkeypatch.setattr(pathlib.Path, "write_bytes",
                            lambda self, data: no_space() if "history" in self.name else real(self, data))
    else:
        class FullDiskOs:  # the checkpoint module's os, whose fsync finds the disk full
            fsync = staticmethod(no_space)

            def __getattr__(self, name):
                return getattr(os, name)

        monkeypatch.setattr(ckpt, "os", FullDiskOs())
    assert train_main([*FLAGS, "--episodes", "4", "--checkpoint-every", "2", "--output-dir", str(tmp_path)]) == 2
    line = _one_line(capsys)
    assert named_file in line and "No space left on device" in line, line
    monkeypatch.undo()
    assert not [p.name for p in tmp_path.rglob(".*") if p.name != ".lunar-kit.lock"]


def test_model_save_without_space_is_refused_before_hdf5_writes(tmp_path, capsys, monkeypatch):
    import shutil
    from collections import namedtuple

    (tmp_path / "cartpole_v1_model.h5").write_bytes(b"the earlier model")
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 1000, 1000))
    flags = [f if f != "1e9" else "10" for f in FLAGS]  # solves at once
    assert train_main([*flags, "--episodes", "3", "--output-dir", str(tmp_path)]) == 2
    line = _one_line(capsys)
    assert "cartpole_v1_model.h5" in line and "No space left on device: 1,000 bytes free" in line, line
    assert "last good checkpoint" in line, line
    assert (tmp_path / "cartpole_v1_model.h5").read_bytes() == b"the earlier model"
    assert not list(tmp_path.glob(".*tmp*"))


@pytest.mark.parametrize("target, message", [("tensorboard", "is a file, not a folder"),
                                             ("csv", "is a folder, not a file")])
def test_output_target_that_is_not_usable_is_refused_before_any_work(tmp_path, capsys, target, message):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a_file").write_text("x")
    before = _listing(out)
    if target == "tensorboard":
        code = train_main([*FLAGS, "--episodes", "2", "--output-dir", str(out), "--tensorboard", str(out / "a_file")])
    else:
        code = evaluate_main(["--model", str(ROOT / "models" / "lunar_lander_model.h5"), "--csv", str(out),
                              "--no-video", "--episodes", "1"])
    assert code == 2
    assert message in _one_line(capsys)
    assert _listing(out) == before


# ------------------------------------------- 3.-5. a checkpoint reader that trusts nothing
@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A 6-episode run with a checkpoint every 3 episodes, trained once per module."""
    folder = tmp_path_factory.mktemp("trained-run")
    train(DQNConfig(**SMALL, num_episodes=6), folder, checkpoint_every=3)
    return folder


def _made_run(tmp_path, trained_run):
    """A copy of the module's trained run in ``tmp_path``: its checkpoints, newest first."""
    shutil.copytree(trained_run, tmp_path, dirs_exist_ok=True)
    return ckpt.list_checkpoints(tmp_path / "checkpoints")


def _nan_weights(folder):
    with np.load(folder / "agent.npz") as data:
        arrays = {k: data[k] for k in data.files}
    arrays["q/000"] = np.full_like(arrays["q/000"], np.nan)
    (folder / "agent.npz").write_bytes(ckpt.npz_bytes(arrays))


def _huge_header(folder):
    header = b"\x93NUMPY\x01\x00" + b"{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }"
    header = header + b" " * (127 - len(header)) + b"\n"
    import zipfile
    with zipfile.ZipFile(folder / "replay.npz", "w") as archive:
        archive.writestr("rows.npy", header + b"\x00" * 16)
        archive.writestr("capacity.npy", _npz_member(np.array(5000)))


def _npz_member(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _history_edit(folder, column, value):
    import pandas as pd
    history = pd.read_csv(folder / "history.csv")
    history[column] = history[column].astype(object if isinstance(value, str) else float)
    history.loc[1, column] = value
    (folder / "history.csv").write_text(history.to_csv(index=False))
    forge(folder, lambda m: None)


CRAFTED = [
    ("files as a list", lambda f: forge(f, lambda m: m.update(files=list(m["files"])), False), "must list exactly"),
    ("files as a string", lambda f: forge(f, lambda m: m.update(files="agent.npz"), False), "must list exactly"),
    ("no config", lambda f: forge(f, lambda m: m.pop("config")), "configuration is invalid"),
    ("config out of range", lambda f: forge(f, lambda m: m["config"].update(gamma=7)), "configuration is invalid"),
    ("garbage rng", lambda f: forge(f, lambda m: m["rng"]["numpy"].update(bit_generator="MT19937x")),
     "PCG64"),
    ("rng naming another attribute", lambda f: forge(f, lambda m: m["rng"]["env"].update(bit_generator="os")),
     "PCG64"),
    ("epsilon 1.88", lambda f: forge(f, lambda m: m.update(epsilon=1.88)), "epsilon must be"),
    ("negative steps", lambda f: forge(f, lambda m: m.update(total_steps=-5)), "total_steps"),
    ("NaN weights", lambda f: (_nan_weights(f), forge(f, lambda m: None)), "NaN"),
    ("4 TiB npy header", lambda f: (_huge_header(f), forge(f, lambda m: None)), "unreadable data"),
    ("infinite return in history", lambda f: _history_edit(f, "return", float("inf")), "infinite or missing"),
    ("missing average in history", lambda f: _history_edit(f, "moving_average", float("nan")), "infinite or missing"),
    ("text in history", lambda f: _history_edit(f, "steps", "many"), "not numbers"),
    ("history's episodes renumbered", lambda f: _history_edit(f, "episode", 7.0), "episodes are not 1 to 6"),
    ("history's epsilon 2", lambda f: _history_edit(f, "epsilon", 2.0), "epsilon in [0, 1]"),
]


@pytest.mark.parametrize("name, craft, reason", CRAFTED, ids=[c[0] for c in CRAFTED])
def test_crafted_checkpoint_is_skipped_with_its_reason_and_the_previous_one_used(tmp_path, trained_run, name, craft,
                                                                                 reason):
    newest, previous = _made_run(tmp_path, trained_run)
    craft(newest)
    messages = []
    found = ckpt.latest_valid(tmp_path / "checkpoints", warn=messages.append)
    assert found is not None and found.path == previous
    assert len(messages) == 1 and messages[0].startswith("skipping damaged checkpoint: ckpt-000006")
    assert reason in messages[0], messages


def test_checkpoint_folder_renamed_to_a_later_number_is_skipped_and_pruned(tmp_path, trained_run):
    newest, previous = _made_run(tmp_path, trained_run)
    renamed = previous.rename(previous.with_name("ckpt-000099"))  # episode 3's files under a later name
    messages = []
    assert ckpt.latest_valid(tmp_path / "checkpoints", warn=messages.append).path == newest
    assert messages == ["skipping damaged checkpoint: ckpt-000099: its manifest is of episode 3 (a renamed folder)"]
    train(DQNConfig(**SMALL, num_episodes=9), tmp_path, resume=True, force=True, checkpoint_every=3)
    assert [p.name for p in ckpt.list_checkpoints(tmp_path / "checkpoints")] == ["ckpt-000009", "ckpt-000006"]
    assert not renamed.exists()


def test_manifest_edited_by_hand_fails_its_checksum(tmp_path, trained_run):
    newest, _ = _made_run(tmp_path, trained_run)
    text = (newest / "manifest.json").read_text()
    manifest = json.loads(text)
    manifest["epsilon"] = manifest["epsilon"] + 1e-9  # valid JSON, a plausible number
    (newest / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ckpt.CheckpointError, match="checksum mismatch"):
        ckpt.load(newest)


def test_file_names_outside_the_folder_are_never_opened(tmp_path, trained_run, monkeypatch):
    newest, _ = _made_run(tmp_path, trained_run)
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"x" * 1000)
    forge(newest, lambda m: m["files"].update({"../../secret.bin": "0" * 64}), rehash_files=False)
    opened = []
    real = ckpt._sha256
    monkeypatch.setattr(ckpt, "_sha256", lambda path: opened.append(Path(path).name) or real(path))
    with pytest.raises(ckpt.CheckpointError, match="must list exactly"):
        ckpt.load(newest)
    assert opened == []


def test_every_checkpoint_damaged_says_why(tmp_path, trained_run, capsys):
    for folder in _made_run(tmp_path, trained_run):
        forge(folder, lambda m: m.update(epsilon=3.0))
    assert train_main([*FLAGS, "--output-dir", str(tmp_path), "--resume"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "every one is damaged" in err[-1] and "epsilon must be" in err[-1], err


def test_checkpoint_whose_arrays_do_not_fit_is_skipped_and_the_previous_one_used(tmp_path, trained_run, capsys):
    newest, previous = _made_run(tmp_path, trained_run)

    def wrong_shape(folder):
        with np.load(folder / "agent.npz") as data:
            arrays = {k: data[k] for k in data.files}
        arrays["q/000"] = np.zeros((4, 7), "f4")  # consistent checksums, a kernel of another shape
        (folder / "agent.npz").write_bytes(ckpt.npz_bytes(arrays))
        forge(folder, lambda m: None)

    wrong_shape(newest)
    assert train_main([*FLAGS, "--output-dir", str(tmp_path), "--resume", "--episodes", "8", "--force"]) == 0
    err = capsys.readouterr().err
    assert "skipping damaged checkpoint: ckpt-000006: its arrays do not fit this agent" in err, err
    rows = (tmp_path / "cartpole_v1_history.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 8  # episodes 1-3 from ckpt-000003, then 4-8 played again


def test_skipped_checkpoint_is_reported_even_when_quiet(tmp_path, trained_run, capsys):
    newest, _ = _made_run(tmp_path, trained_run)
    forge(newest, lambda m: m.update(epsilon=3.0))
    assert train_main([*FLAGS, "--output-dir", str(tmp_path), "--resume"]) == 0  # FLAGS hold --quiet
    assert "skipping damaged checkpoint: ckpt-000006" in capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--hidden-units", "128", "--force"], "cannot resume with another hidden_units"),
    (["--memory-size", "100", "--force"], "cannot resume with another memory_size"),
    (["--env", "Acrobot-v1", "--force"], "cannot resume with another env_id"),
])
def test_resume_with_another_shape_is_refused_even_with_force(tmp_path, trained_run, capsys, flags, message):
    _made_run(tmp_path, trained_run)
    before = _listing(tmp_path)
    assert train_main([*FLAGS, "--output-dir", str(tmp_path), "--resume", *flags]) == 2
    assert message in _one_line(capsys)
    assert _listing(tmp_path) == before


# ------------------------------------------------ 6.-7. every number checked first
@pytest.mark.parametrize("command, args, message", [
    ("train", ["--memory-size", "64", "--minibatch-size", "64"], "must be smaller than memory_size"),
    ("train", ["--seed", "99999999999999999999"], "seed must be at most"),
    ("train", ["--seed", str(2**63)], "seed must be at most"),
    ("train", ["--memory-size", "1000000000000"], "memory_size must be at most"),
    ("train", ["--hidden-units", "2000000000"], "hidden_units must be at most"),
    ("train", ["--config", "configs"], "not a regular file"),
    ("train", ["--env", "os:Env-v0"], "no 'module:' prefix"),
    ("evaluate", ["--seed", "-1"], "seed must be a whole number between"),
    ("evaluate", ["--episodes", "0"], "episodes must be a whole number between"),
])
def test_out_of_range_numbers_are_one_line_before_any_work(tmp_path, capsys, command, args, message):
    out = tmp_path / "out"
    out.mkdir()
    if command == "train":
        code = train_main(["--output-dir", str(out), "--quiet", *args])
    else:
        code = evaluate_main(["--no-video", *args])
    assert code == 2
    assert message in _one_line(capsys)
    assert _listing(out) == []


def test_config_file_with_a_boolean_seed_is_refused(tmp_path, capsys):
    (tmp_path / "bad.toml").write_text("seed = true\n")
    assert train_main(["--config", str(tmp_path / "bad.toml"), "--output-dir", str(tmp_path / "out")]) == 2
    assert "seed must be an integer" in _one_line(capsys)


@pytest.mark.parametrize("args, message", [
    (["frozenlake", "--seed", "-1"], "seed must be a whole number between"),
    (["chain", "--states", "100000000"], "states must be a whole number between"),
    (["frozenlake", "--output-dir", "/proc/no/such"], "output folder"),
])
def test_tabular_numbers_and_folders_checked_before_training(args, message):
    done = subprocess.run([sys.executable, "-m", "tabular", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 2 and message in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert done.stdout == ""  # refused before any training: Q-learning would have printed its tables


# -------------------------------------------------------------------- 8. smaller
def test_resume_keeps_the_runs_checkpoint_interval(tmp_path):
    proc = _cli(*FLAGS, "--episodes", "7", "--checkpoint-every", "3", "--output-dir", str(tmp_path))
    proc.communicate(timeout=120)
    assert train_main([*FLAGS, "--output-dir", str(tmp_path), "--resume", "--force", "--episodes", "13"]) == 0
    names = [p.name for p in ckpt.list_checkpoints(tmp_path / "checkpoints")]
    assert names == ["ckpt-000013", "ckpt-000012"]  # every 3, not every 50


def test_killed_run_leaves_no_temporary_files_after_resume(tmp_path, trained_run):
    _made_run(tmp_path, trained_run)
    stale = tmp_path / ".cartpole_v1_history.abc123.tmp.png"
    stale.write_bytes(b"half a picture")
    train(DQNConfig(**SMALL, num_episodes=7), tmp_path, resume=True, force=True, checkpoint_every=3)
    assert not stale.exists()


def test_env_id_with_a_module_prefix_never_imports_the_module(tmp_path, monkeypatch, capsys):
    (tmp_path / "planted.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "evil.toml").write_text('env_id = "planted:Env-v0"\n')
    assert train_main(["--config", str(tmp_path / "evil.toml"), "--output-dir", str(tmp_path / "out")]) == 2
    assert "module:" in _one_line(capsys)
    assert not (tmp_path / "ran").exists() and "planted" not in sys.modules


def test_evaluate_refuses_a_model_that_is_not_a_regular_file(tmp_path, capsys):
    import os
    fifo = tmp_path / "x.h5"
    os.mkfifo(fifo)
    assert evaluate_main(["--model", str(fifo), "--no-video"]) == 2
    assert "not a regular file" in _one_line(capsys)


def test_empty_output_folder_is_refused(capsys):
    with pytest.raises(SystemExit) as stop:
        train_main(["--output-dir", "", "--quiet"])
    assert stop.value.code == 2
    assert "must not be empty" in _one_line(capsys)
    with pytest.raises(UserError, match="must not be empty"):
        train(DQNConfig(**SMALL, num_episodes=1), "")
