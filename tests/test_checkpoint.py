"""Training that loses nothing: checkpoints, resume after SIGKILL or SIGINT, damaged files,
numerical faults and bad input. Small CartPole runs keep the file well under two minutes."""

import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lunar.run import checkpoint as ckpt
from lunar.run.atomic import atomic_path, write_text
from lunar.commands.cli import train_main
from lunar.config import DQNConfig
from lunar.errors import UserError
from lunar.training import NumericalError, train

ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(env_id="CartPole-v1", memory_size=5_000, minibatch_size=32, target_score=1e9,
             max_num_timesteps=50, seed=5)
SMALL_FLAGS = ["--env", "CartPole-v1", "--memory-size", "5000", "--minibatch-size", "32", "--target-score", "1e9",
               "--max-num-timesteps", "50", "--seed", "5"]


def _start_cli(output_dir, episodes, every=5):
    return subprocess.Popen([sys.executable, str(ROOT / "train.py"), *SMALL_FLAGS, "--episodes", str(episodes),
                             "--checkpoint-every", str(every), "--output-dir", str(output_dir), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def _wait_for_checkpoint(output_dir, proc, episode=1, timeout=120):
    """Wait until a checkpoint of ``episode`` or later is on disk (a condition, not a guess of time)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = ckpt.list_checkpoints(output_dir / "checkpoints")
        if found and int(found[0].name[len(ckpt.PREFIX):]) >= episode:
            return
        assert proc.poll() is None, f"training ended before checkpoint {episode}: {proc.communicate()}"
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint of episode {episode} or later appeared")


class MessageCapture:
    """A training reporter that keeps only the messages."""

    def __init__(self, messages):
        self.messages = messages

    def start(self, *args): ...
    def episode(self, row): ...
    def stop(self): ...

    def message(self, text):
        self.messages.append(text)


def _learning_columns(frame):
    return frame.drop(columns="elapsed_seconds").reset_index(drop=True)


@pytest.mark.slow
def test_checkpoint_sigkill_then_resume_equals_uninterrupted_run(tmp_path):
    episodes = 200
    out = tmp_path / "killed"
    proc = _start_cli(out, episodes)
    _wait_for_checkpoint(out, proc, episode=15)  # the third checkpoint: two older ones exist, one was pruned
    assert proc.poll() is None, "the run finished before it could be killed; make it longer"
    proc.kill()  # SIGKILL: no handler runs
    proc.wait()
    for path in ckpt.list_checkpoints(out / "checkpoints"):
        ckpt.load(path)  # every checkpoint on disk validates
    # a kill between a new checkpoint's rename and the pruning of the oldest leaves one more, never fewer
    assert len(ckpt.list_checkpoints(out / "checkpoints")) <= ckpt.KEEP + 1

    resumed = train(DQNConfig(**SMALL, num_episodes=episodes), out, resume=True, checkpoint_every=5)
    history = pd.read_csv(out / "cartpole_v1_history.csv")
    assert history["episode"].tolist() == list(range(1, episodes + 1))  # every episode exactly once

    reference = train(DQNConfig(**SMALL, num_episodes=episodes), tmp_path / "reference", checkpoint_every=5)
    pd.testing.assert_frame_equal(_learning_columns(history), _learning_columns(reference.history))
    assert resumed.total_steps == reference.total_steps
    assert len(ckpt.list_checkpoints(out / "checkpoints")) == ckpt.KEEP
    for path in ckpt.list_checkpoints(out / "checkpoints"):
        ckpt.load(path)


def test_checkpoint_sigint_saves_and_says_how_to_resume(tmp_path):
    out = tmp_path / "run"
    proc = _start_cli(out, 100_000, every=1000)  # no periodic checkpoint would come for a long time
    deadline = time.time() + 120
    while not (out / "cartpole_v1_config.toml").exists():
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.05)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Resume with: python train.py --resume" in stderr and "Traceback" not in stderr
    found = ckpt.latest_valid(out / "checkpoints")
    assert found is not None and found.manifest["episode"] >= 1
    history = pd.read_csv(out / "cartpole_v1_history.csv")
    assert len(history) == found.manifest["episode"]


@pytest.mark.parametrize("damage", ["truncate", "bitflip", "manifest"])
def test_checkpoint_damaged_newest_is_reported_and_previous_used(tmp_path, damage, capsys):
    config = DQNConfig(**SMALL, num_episodes=12)
    train(config, tmp_path, checkpoint_every=5)
    names = [p.name for p in ckpt.list_checkpoints(tmp_path / "checkpoints")]
    assert names == ["ckpt-000012", "ckpt-000010"]
    newest = tmp_path / "checkpoints" / "ckpt-000012"
    if damage == "truncate":
        data = (newest / "agent.npz").read_bytes()
        (newest / "agent.npz").write_bytes(data[: len(data) // 2])
    elif damage == "bitflip":
        data = bytearray((newest / "replay.npz").read_bytes())
        data[len(data) // 2] ^= 0x01
        (newest / "replay.npz").write_bytes(bytes(data))
    else:
        (newest / "manifest.json").write_text("{not json")

    messages = []

    result = train(config.replace(num_episodes=14), tmp_path, resume=True, force=True, checkpoint_every=5,
                   reporter=MessageCapture(messages))
    warning = capsys.readouterr().err  # on stderr, even for a quiet run
    assert "skipping damaged checkpoint: ckpt-000012" in warning, warning
    assert any("Resumed from" in m and "ckpt-000010" in m for m in messages)
    assert result.history["episode"].tolist() == list(range(1, 15))


def test_checkpoint_resume_refuses_changed_hyperparameters(tmp_path):
    train(DQNConfig(**SMALL, num_episodes=5), tmp_path, checkpoint_every=5)
    with pytest.raises(UserError, match=r"gamma: 0.995 -> 0.9"):
        train(DQNConfig(**SMALL, num_episodes=5).replace(gamma=0.9), tmp_path, resume=True)
    result = train(DQNConfig(**SMALL, num_episodes=7).replace(gamma=0.9), tmp_path, resume=True, force=True)
    assert result.episodes == 7


def test_checkpoint_nan_loss_stops_with_episode_and_step_and_keeps_checkpoint(tmp_path, monkeypatch):
    from lunar.fast_update import FastUpdate, LearnResult

    config = DQNConfig(**SMALL, num_episodes=40)
    calls = {"n": 0}
    learn = FastUpdate.learn

    def poisoned(update, batches, gamma):
        calls["n"] += 1
        result = learn(update, batches, gamma)
        return LearnResult(float("nan"), result.mean_q) if calls["n"] == 150 else result

    monkeypatch.setattr(FastUpdate, "learn", poisoned)
    with pytest.raises(NumericalError, match=r"episode \d+, step \d+; the last good checkpoint is .*ckpt-0000"):
        train(config, tmp_path, checkpoint_every=5)
    found = ckpt.latest_valid(tmp_path / "checkpoints")
    assert found is not None and found.manifest["episode"] % 5 == 0
    np.testing.assert_array_equal(found.history["episode"], np.arange(1, found.manifest["episode"] + 1))


def _listing(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else None


@pytest.mark.parametrize("flags, message", [
    (["--gamma", "1.5"], "gamma must be in [0, 1]"),
    (["--tau", "0"], "tau must be in (0, 1]"),
    (["--alpha", "0"], "alpha (learning rate) must be > 0"),
    (["--memory-size", "0"], "memory_size must be a positive integer"),
    (["--memory-size", "100", "--minibatch-size", "200"], "larger than memory_size"),
    (["--env", "NoSuchEnv-v0"], "unknown or unavailable Gymnasium environment"),
    (["--env", "Pendulum-v1"], "Discrete actions"),
    (["--env", "FrozenLake-v1"], "flat (1-D) Box"),
    (["--resume"], "no valid checkpoint"),
    (["--episodes", "-3"], "num_episodes must be a positive integer"),
    (["--config", "missing.toml"], "config file not found"),
])
def test_train_cli_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, flags, message):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("untouched")
    before = _listing(out)
    assert train_main(["--output-dir", str(out), "--quiet", *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert _listing(out) == before


def test_train_cli_unwritable_output_folder_exits_2(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert train_main(["--output-dir", str(blocker / "models"), "--quiet"]) == 2
    assert "not writable" in capsys.readouterr().err
    assert blocker.read_text() == "x"


@pytest.mark.slow  # a fresh interpreter that imports TensorFlow: seconds each
def test_train_script_bad_input_has_no_traceback():
    proc = subprocess.run([sys.executable, str(ROOT / "train.py"), "--tau", "2"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "train.py: error: tau must be in (0, 1], got 2.0"


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "model.h5"
    write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.h5"]


def test_checkpoint_new_run_replaces_earlier_runs_checkpoints(tmp_path):
    train(DQNConfig(**SMALL, num_episodes=30), tmp_path, checkpoint_every=10)
    assert [p.name for p in ckpt.list_checkpoints(tmp_path / "checkpoints")] == ["ckpt-000030", "ckpt-000020"]
    messages = []

    train(DQNConfig(**SMALL, num_episodes=12).replace(seed=9), tmp_path, checkpoint_every=10,
          reporter=MessageCapture(messages))
    assert any("earlier run" in m for m in messages)
    assert [p.name for p in ckpt.list_checkpoints(tmp_path / "checkpoints")] == ["ckpt-000012", "ckpt-000010"]
    assert ckpt.latest_valid(tmp_path / "checkpoints").manifest["config"]["seed"] == 9


def test_train_cli_resume_reads_and_verifies_the_checkpoint_once(tmp_path, monkeypatch):
    train(DQNConfig(**SMALL, num_episodes=5), tmp_path, checkpoint_every=5)
    loads = []
    read = ckpt.load
    monkeypatch.setattr(ckpt, "load", lambda path: loads.append(path) or read(path))
    assert train_main(["--resume", str(tmp_path), "--episodes", "7", "--force", "--quiet"]) == 0
    assert [p.name for p in loads] == ["ckpt-000005"]
    assert len(pd.read_csv(tmp_path / "cartpole_v1_history.csv")) == 7


def test_train_resume_continues_with_the_checkpoints_own_hyperparameters(tmp_path):
    first = train(DQNConfig(**SMALL, num_episodes=4, gamma=0.9), tmp_path, checkpoint_every=2)
    resumed = train(output_dir=tmp_path, resume=True, force=True, num_episodes=6)  # only the cap is new
    assert resumed.config == first.config.replace(num_episodes=6) and resumed.episodes == 6
    with pytest.raises(UserError, match=r"num_episodes: 6 -> 8"):  # a change still needs force
        train(output_dir=tmp_path, resume=True, num_episodes=8)


def test_train_resume_of_a_folder_without_checkpoints_is_refused_and_creates_nothing(tmp_path):
    with pytest.raises(UserError, match="it has no checkpoints folder"):
        train(DQNConfig(**SMALL, num_episodes=2), tmp_path / "never-trained", resume=True)
    assert not (tmp_path / "never-trained").exists()


def test_lock_a_second_lock_in_the_same_process_is_refused(tmp_path):
    from lunar.run import lock

    with lock.held(tmp_path):
        with pytest.raises(UserError, match="in use by this process"):
            lock.acquire(tmp_path)
        assert (tmp_path / lock.LOCK_NAME).exists()
    assert not (tmp_path / lock.LOCK_NAME).exists()  # released once, removed


def test_checkpoint_refuses_adam_variables_stored_in_another_order(tmp_path, capsys):
    train(DQNConfig(**SMALL, num_episodes=6), tmp_path, checkpoint_every=3)
    found = ckpt.latest_valid(tmp_path / "checkpoints")
    paths = [str(p) for p in found.agent["paths/adam"]]
    assert paths[2].endswith("hidden_1_kernel_momentum") and paths[3].endswith("hidden_1_kernel_velocity")
    paths[2], paths[3] = paths[3], paths[2]  # what a Keras that reorders optimizer.variables would store
    found.agent["paths/adam"] = np.array(paths)
    result = train(DQNConfig(**SMALL, num_episodes=9), tmp_path, resume=found, force=True)
    assert re.search(r"skipping damaged checkpoint: ckpt-000006: .*adam variable 2 is .*velocity.*another order",
                     capsys.readouterr().err)
    assert len(result.history) == 9  # from ckpt-000003, whose order is right
    for older in ckpt.list_checkpoints(tmp_path / "checkpoints"):
        shutil.rmtree(older)
    with pytest.raises(UserError, match=r"no checkpoint .* fits this agent \(.*another order"):
        train(DQNConfig(**SMALL, num_episodes=12), tmp_path, resume=found, force=True)


def test_checkpoint_variable_paths_do_not_depend_on_models_built_before():
    from lunar.agent import DQNAgent, build_q_network
    from lunar.run.state import agent_arrays

    first = agent_arrays(DQNAgent(4, 2, seed=0))
    build_q_network(4, 2, name="unrelated")
    second = agent_arrays(DQNAgent(4, 2, seed=0))
    for group in ("q", "target", "adam"):
        assert list(first[f"paths/{group}"]) == list(second[f"paths/{group}"])
    assert list(first["paths/q"])[:2] == ["q_network/hidden_1/kernel", "q_network/hidden_1/bias"]
