"""The Python API, TensorBoard scalars, configuration files and the installed commands."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import lunar
import tabular
from lunar.commands.cli import resolve_config, train_parser
from lunar.config import DQNConfig, load_toml
from lunar.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


def test_api_train_with_field_keywords_returns_history_and_paths(tmp_path):
    result = lunar.train(env_id="CartPole-v1", num_episodes=3, output_dir=tmp_path, memory_size=1000,
                         minibatch_size=16)
    assert isinstance(result.history, pd.DataFrame) and len(result.history) == 3
    assert result.history["episode"].tolist() == [1, 2, 3]
    for path in result.paths.values():
        assert Path(path).exists()
    assert pd.read_csv(result.paths["history"])["return"].tolist() == pytest.approx(result.history["return"])


def test_api_train_rejects_unknown_keyword(tmp_path):
    with pytest.raises(TypeError, match="episodez"):
        lunar.train(env_id="CartPole-v1", episodez=3, output_dir=tmp_path)
    with pytest.raises(TypeError, match="episodes"):  # the short names are the command line's only
        lunar.train(env_id="CartPole-v1", episodes=3, output_dir=tmp_path)


def test_api_evaluate_scores_a_model(tmp_path):
    score = lunar.evaluate(ROOT / "models" / "lunar_lander_model.h5", episodes=2, seed=0)
    assert len(score.episodes) == 2 and set(score.summary()) >= {"mean", "std", "min", "median"}


def test_tensorboard_run_writes_the_scalars(tmp_path):
    import tensorflow as tf

    lunar.train(env_id="CartPole-v1", num_episodes=4, output_dir=tmp_path / "out", tensorboard=tmp_path / "tb",
                memory_size=1000, minibatch_size=16)
    tags: dict[str, int] = {}
    for event_file in (tmp_path / "tb").rglob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            for value in event.summary.value:
                tags[value.tag] = tags.get(value.tag, 0) + 1
    assert set(tags) == {"episode_return", "moving_average", "epsilon", "loss", "mean_q"}
    assert tags["episode_return"] == tags["moving_average"] == tags["epsilon"] == 4
    assert tags["loss"] < 4  # no update in the first episode: no loss to write


def test_config_presets_load_and_course_is_the_default():
    assert DQNConfig(**load_toml(ROOT / "configs" / "course.toml")) == DQNConfig()
    fast = DQNConfig(**load_toml(ROOT / "configs" / "fast.toml"))
    assert fast != DQNConfig() and fast.env_id == "LunarLander-v3"


def test_config_flags_override_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('gamma = 0.9\nseed = 3\n')
    args = train_parser().parse_args(["--config", str(path), "--seed", "7"])
    config = resolve_config(args)
    assert (config.gamma, config.seed, config.alpha) == (0.9, 7, DQNConfig().alpha)


@pytest.mark.parametrize("text, message", [("gama = 0.9", "unknown keys gama"), ("gamma = ", "not valid TOML")])
def test_config_file_errors_are_user_errors(tmp_path, text, message):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        load_toml(path)


def test_api_tabular_train_returns_table_and_history():
    outcome = tabular.train("chain")
    assert outcome.max_q_error < 0.01
    assert len(outcome.history) == 1000 and list(outcome.history.columns) == ["episode", "return", "epsilon", "steps"]


def test_installed_console_scripts_answer_help(tmp_path):
    """The README's set-up (`pip install -e ".[dev]"`) installs the six commands beside this Python."""
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PYTHONPATH="")
    for command, needle in (("lunar-train", "--resume"), ("lunar-evaluate", "--episodes"),
                            ("lunar-tabular", "frozenlake"), ("lunar-grade", "--csv"), ("lunar-sweep", "--seeds"),
                            ("lunar-tune", "--trials")):
        script = bin_dir / command
        assert script.exists(), f"{script} is missing: install the kit with pip install -e \".[dev]\""
        out = subprocess.run([str(script), "--help"], capture_output=True, text=True, env=env, cwd=tmp_path,
                             timeout=120)
        assert out.returncode == 0 and needle in out.stdout, (command, out.stderr)
