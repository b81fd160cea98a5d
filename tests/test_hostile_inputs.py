"""Hostile inputs from a fresh attack (issue "Every hostile input held"): each one line, exit 2, nothing written."""

import pytest

from lunar import training
from lunar.cli import train_main
from lunar.config import DQNConfig, load_toml
from lunar.errors import UserError
from lunar.sweep.engine import check_address
from lunar.sweep.runner import Sweep


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
