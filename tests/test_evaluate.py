"""evaluate.py: a fixed scoring protocol, videos, and clear refusals."""

import subprocess
import sys
from pathlib import Path

import imageio.v2 as imageio
import keras
import numpy as np
import pytest

from lunar.commands.cli import evaluate_main
from lunar.envs import make_env
from lunar.reports.evaluation import outcome
from lunar.reports.evaluation import evaluate, evaluate_policy
from lunar.agent import build_q_network
from lunar.commands.video import create_video

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "models" / "lunar_lander_model.h5"


def _falling_model(path=None):
    """A Q-network that always prefers action 0 (do nothing): the lander falls and crashes quickly."""
    model = build_q_network(8, 4, seed=0)
    weights = [np.zeros_like(w) for w in model.get_weights()]
    weights[-1][:] = [1.0, 0.0, 0.0, 0.0]
    model.set_weights(weights)
    if path is not None:
        model.save(path)
    return model


def _read_frames(path):
    if path.suffix == ".gif":
        return imageio.mimread(path, memtest=False)
    with imageio.get_reader(path, format="FFMPEG") as reader:
        return [frame for frame in reader]  # list(reader) would ask for an unknown length


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_create_video_frame_count_is_steps_plus_one(tmp_path, suffix):
    env = make_env("LunarLander-v3", render_mode="rgb_array")
    model = _falling_model()
    path = tmp_path / f"episode{suffix}"
    written = create_video(path, env, model, fps=30, seed=3)
    # the same episode without rendering: how many steps it takes
    plain = make_env("LunarLander-v3")
    plain.reset(seed=3)
    steps, done = 0, False
    while not done:
        _, _, terminated, truncated, _ = plain.step(0)
        steps, done = steps + 1, terminated or truncated
    frames = _read_frames(path)
    assert written == len(frames) == steps + 1
    assert frames[0].shape[:2] == (400, 600)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_evaluate_protocol_is_deterministic(tmp_path):
    model = _falling_model()
    a = evaluate(model, episodes=5, seed=7).episodes
    b = evaluate(model, episodes=5, seed=7).episodes
    assert a["return"].tolist() == b["return"].tolist()
    assert a["seed"].tolist() == [7, 8, 9, 10, 11]
    assert set(a["outcome"]) == {"crashed"}


def test_outcome_tells_a_lander_timed_out_on_the_ground_from_one_in_the_air():
    import gymnasium as gym

    env = gym.make("LunarLander-v3", max_episode_steps=20)  # truncated long before it reaches the ground
    noop = lambda state: np.array([[1.0, 0.0, 0.0, 0.0]])  # noqa: E731
    rows = evaluate_policy(noop, env, episodes=2).episodes
    assert rows["steps"].tolist() == [20, 20]
    assert set(rows["outcome"]) == {"timed out in the air"}
    state = np.zeros(8, np.float32)
    for legs, expected in (((1, 1), "timed out on the ground"), ((0, 1), "timed out on the ground"),
                           ((0, 0), "timed out in the air")):
        state[6:8] = legs
        assert outcome(env, state, terminated=False, truncated=True) == expected
    cartpole = make_env("CartPole-v1")
    assert outcome(cartpole, np.zeros(4), terminated=False, truncated=True) == "timed out"
    env.close()
    cartpole.close()


def test_evaluate_cli_writes_csv_and_video(tmp_path, capsys):
    model_path = tmp_path / "falling.h5"
    _falling_model(model_path)
    csv, video = tmp_path / "rows.csv", tmp_path / "v" / "run.gif"
    assert evaluate_main(["--model", str(model_path), "--episodes", "3", "--video-episodes", "2",
                          "--csv", str(csv), "--video", str(video)]) == 0
    out = capsys.readouterr().out
    assert "crashed" in out and "mean" in out
    import pandas as pd
    rows = pd.read_csv(csv)
    assert rows["seed"].tolist() == [0, 1, 2] and list(rows.columns) == ["episode", "seed", "return", "steps",
                                                                        "outcome"]
    frames = imageio.mimread(video, memtest=False)
    assert len(frames) == int(rows["steps"][:2].sum()) + 2  # two episodes, each with its reset frame


def test_evaluate_cli_summary_counts_outcomes_without_the_table(tmp_path, capsys):
    model_path = tmp_path / "falling.h5"
    _falling_model(model_path)
    assert evaluate_main(["--model", str(model_path), "--episodes", "21", "--no-video"]) == 0
    out = capsys.readouterr().out
    assert "outcome" not in out  # more than 20 episodes: no per-episode table
    assert "[crashed 21]" in out


def _lambda_model(path):
    model = keras.Sequential([keras.layers.Input(shape=(8,)), keras.layers.Lambda(lambda x: x * 2),
                              keras.layers.Dense(4)])
    model.save(path)


def _cartpole_model(path):
    build_q_network(4, 2, seed=0).save(path)


def _not_a_model(path):
    path.write_text("this is not HDF5")


def _truncated(path):
    _falling_model(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


@pytest.mark.parametrize("make, extra, message", [
    (None, [], "does not exist; train one with `python train.py`"),
    (_not_a_model, [], "is not a readable Keras model"),
    (_truncated, [], "is not a readable Keras model"),
    (_lambda_model, [], "carries code"),
    (_cartpole_model, [], "the model maps (4,) -> (2,), but LunarLander-v3 needs (8,) -> (4,)"),
    (_falling_model, ["--env", "NoSuchEnv-v9"], "unknown or unavailable Gymnasium environment"),
    (_falling_model, ["--video", "out.avi"], "must end in .mp4 or .gif"),
    (_falling_model, ["--episodes", "0"], "episodes must be a whole number between"),
])
def test_evaluate_cli_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, monkeypatch, make, extra, message):
    monkeypatch.chdir(tmp_path)
    model_path = tmp_path / "model.h5"
    if make is not None:
        make(model_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code = evaluate_main(["--model", str(model_path), "--csv", str(tmp_path / "rows.csv"), *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and message in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_evaluate_cli_unwritable_output_exits_2(tmp_path, capsys):
    model_path = tmp_path / "model.h5"
    _falling_model(model_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert evaluate_main(["--model", str(model_path), "--video", str(blocker / "v.mp4")]) == 2
    assert "not writable" in capsys.readouterr().err


@pytest.mark.slow  # a fresh interpreter that imports TensorFlow: seconds each
def test_evaluate_script_missing_model_has_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "evaluate.py"), "--model", str(tmp_path / "none.h5")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "does not exist" in proc.stderr


@pytest.mark.slow
def test_shipped_model_scores_at_least_200_with_the_protocol():
    score = evaluate(SHIPPED, episodes=100, seed=0).summary()
    assert score["mean"] >= 200, score
