"""``python evaluate.py --package DIR [--push REPO_ID]``: a model folder the Hugging Face Hub reads as it is."""

import json
from pathlib import Path

import numpy as np
import pytest

from lunar.commands.cli import evaluate_main
from lunar.commands.package import hub_score, model_card, training_command
from lunar.config import DQNConfig

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "models" / "lunar_lander_model.h5"
HUB_FIELDS = {"mean_reward", "std_reward", "is_deterministic", "n_eval_episodes", "eval_datetime"}


@pytest.fixture(scope="module")
def shipped_package(tmp_path_factory):
    folder = tmp_path_factory.mktemp("package") / "lunar-lander-dqn"
    assert evaluate_main(["--model", str(SHIPPED), "--package", str(folder)]) == 0
    return folder


def test_package_holds_the_model_results_replay_card_and_run_files(shipped_package):
    names = {p.name for p in shipped_package.iterdir()}
    assert names == {"lunar_lander_model.h5", "lunar_lander_model.keras", "results.json", "replay.mp4", "README.md",
                     "config.toml", "history.csv", "learning_curve.png"}
    results = json.loads((shipped_package / "results.json").read_text())
    assert HUB_FIELDS <= set(results) and results["n_eval_episodes"] == 100 and results["is_deterministic"]
    assert results["hub_score"] == pytest.approx(results["mean_reward"] - results["std_reward"], abs=1e-3)
    assert results["passes_hub_mark"] == (results["hub_score"] >= 200) and sum(results["outcomes"].values()) == 100


def test_package_card_is_read_by_huggingface_hubs_own_parser(shipped_package):
    ModelCard = pytest.importorskip("huggingface_hub").ModelCard
    results = json.loads((shipped_package / "results.json").read_text())
    card = ModelCard.load(shipped_package / "README.md")
    assert "LunarLander-v3" in card.data.tags and card.data.library_name == "keras"
    (result,) = card.data.eval_results
    assert (result.task_type, result.dataset_type, result.metric_type) == \
        ("reinforcement-learning", "LunarLander-v3", "mean_reward")
    assert result.metric_value == f"{results['mean_reward']:.2f} +/- {results['std_reward']:.2f}"
    assert "python train.py --seed 0" in card.text  # the shipped model's own command, from its config.toml


def test_package_models_load_and_agree(shipped_package):
    import keras

    h5 = keras.models.load_model(shipped_package / "lunar_lander_model.h5", compile=False)
    native = keras.models.load_model(shipped_package / "lunar_lander_model.keras", compile=False)
    states = np.random.default_rng(0).normal(size=(16, 8)).astype(np.float32)
    np.testing.assert_allclose(h5(states), native(states), rtol=1e-6)


def test_package_replay_is_one_greedy_episode(shipped_package):
    import imageio.v2 as imageio

    reader = imageio.get_reader(shipped_package / "replay.mp4", format="FFMPEG")
    frames = sum(1 for _ in reader)
    reader.close()
    assert 50 < frames <= 1001


def test_package_command_names_the_preset_or_the_config_file():
    assert training_command(DQNConfig(seed=3)) == "python train.py --seed 3"
    assert training_command(DQNConfig(gamma=0.99)) == "python train.py --config config.toml"
    assert training_command(None) == ""


def test_package_card_says_whether_the_leaderboard_score_passes():
    record = {"env_id": "LunarLander-v3", "mean_reward": 260.0, "std_reward": 20.0, "n_eval_episodes": 100,
              "median_reward": 262.0, "share_at_or_above_200": 0.97, "outcomes": {"landed": 100},
              "hub_score": hub_score(260.0, 20.0), "hub_mark": 200.0, "passes_hub_mark": True, "versions": {}}
    card = model_card(record, "", "lunar_lander", ["README.md"])
    assert "value: 260.00 +/- 20.00" in card and "The leaderboard's score passes" in card
    assert "command that trained it is not known" in card


@pytest.mark.slow  # a second package of the shipped model
def test_package_push_without_a_token_is_one_line_after_the_folder_is_written(tmp_path, monkeypatch, capsys):
    huggingface_hub = pytest.importorskip("huggingface_hub")
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)  # no HF_TOKEN, no login on this machine
    folder = tmp_path / "pkg"
    assert evaluate_main(["--model", str(SHIPPED), "--package", str(folder), "--push", "someone/lunar-lander"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs a Hugging Face token" in err and (folder / "results.json").is_file()


@pytest.mark.parametrize("args", [
    ["--push", "someone/lunar"],                         # --push without --package
    ["--package", "PKG", "--push", "not a repo id"],
    ["--package", "PKG", "--episodes", "5"],             # the package's protocol is the official one
    ["--package", "FILE"],
    ["--package", "FULL"],                               # a folder holding other files
])
def test_package_refuses_bad_input_in_one_line_writing_nothing(tmp_path, args, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "FILE").write_text("x")
    (tmp_path / "FULL").mkdir()
    (tmp_path / "FULL" / "notes.txt").write_text("mine")
    assert evaluate_main(["--model", str(SHIPPED), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("evaluate.py: error:"), err
    assert not (tmp_path / "PKG").exists() and sorted(p.name for p in (tmp_path / "FULL").iterdir()) == ["notes.txt"]
