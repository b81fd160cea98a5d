"""lunar-sweep and lunar-tune: plans, statistics against their formulas, and tiny CartPole sweeps
on a real Ray instance (local, and a two-node cluster on the loopback address)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lunar.config import DQNConfig, load_toml
from lunar.errors import UserError
from lunar.commands.sweep.plan import make_plan, parse_override, parse_seeds
from lunar.commands.sweep.stats import bootstrap_interval, curve_band, iqm


# Ray's ray.init() joins the newest `ray start` cluster on the machine: under pytest-xdist these
# tests share one worker, one at a time (pytest -n 2 --dist loadgroup).
pytestmark = pytest.mark.xdist_group("ray")
ROOT = Path(__file__).resolve().parents[1]
CARTPOLE = {"env_id": "CartPole-v1", "memory_size": 5000, "minibatch_size": 32, "target_score": 1e9,
            "max_num_timesteps": 50, "num_episodes": 6}


def _preset(folder: Path, name: str = "cartpole", **changes) -> Path:
    path = folder / f"{name}.toml"
    lines = [f"{k} = {json.dumps(v) if isinstance(v, str) else repr(v)}" for k, v in {**CARTPOLE, **changes}.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def _history(path: Path) -> pd.DataFrame:
    return pd.read_csv(path).drop(columns="elapsed_seconds")


def _lunar_sweep(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "lunar.commands.sweep", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=600, **kwargs)


# ------------------------------------------------------------------ plans, no Ray
def test_parse_seeds_reads_ranges_and_lists():
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("7, 0,2,5-6,2") == [0, 2, 5, 6, 7]
    for bad in ("", "a", "3-1", "1-", "-2", "0-99999999999"):
        with pytest.raises(UserError, match="--seeds"):
            parse_seeds(bad)


def test_parse_override_types_values_and_refuses_unknown_names():
    assert parse_override("gamma=0.99,0.995") == ("gamma", [0.99, 0.995])
    assert parse_override("hidden_units=64") == ("hidden_units", [64])
    assert parse_override("double_dqn=true,false") == ("double_dqn", [True, False])
    with pytest.raises(UserError, match="not a hyperparameter"):
        parse_override("warp=1")
    with pytest.raises(UserError, match="seeds go in --seeds"):
        parse_override("seed=1,2")
    with pytest.raises(UserError, match="is not a int"):
        parse_override("hidden_units=6.5")


def test_make_plan_is_every_preset_override_and_seed_each_validated(tmp_path):
    a, b = _preset(tmp_path, "a"), _preset(tmp_path, "b", gamma=0.9)
    trials = make_plan([a, b], [0, 1, 2], [("tau", [0.01, 0.1])])
    assert len(trials) == 2 * 2 * 3 and len({t.trial_id for t in trials}) == 12
    assert {t.variant for t in trials} == {"a tau=0.01", "a tau=0.1", "b tau=0.01", "b tau=0.1"}
    assert all(DQNConfig(**t.config).seed == t.seed for t in trials)
    assert {t.config["gamma"] for t in trials if t.preset == "b"} == {0.9}
    with pytest.raises(UserError, match="tau must be in"):
        make_plan([a], [0], [("tau", [0.5, 2.0])])


# ----------------------------------------------------- statistics against their formulas
def test_iqm_is_the_mean_of_the_middle_half_written_out():
    x = np.array([9.0, -100.0, 3.0, 4.0, 5.0, 6.0, 1000.0, 7.0])  # n = 8: drop the 2 lowest and the 2 highest
    assert iqm(x) == pytest.approx(np.mean([4.0, 5.0, 6.0, 7.0]))
    y = np.arange(10.0)  # n = 10: floor(10 / 4) = 2 from each end
    assert iqm(y) == pytest.approx(np.mean(y[2:8]))


def test_bootstrap_interval_is_the_percentiles_of_resampled_statistics():
    values = np.array([1.0, 2.0, 3.0, 10.0])
    low, high = bootstrap_interval(values, np.mean, np.random.default_rng(5), resamples=2000)
    draws = np.random.default_rng(5).integers(0, 4, size=(2000, 4))
    means = values[draws].mean(axis=1)
    assert (low, high) == pytest.approx(tuple(np.quantile(means, [0.025, 0.975])))
    assert low < values.mean() < high


def test_curve_band_takes_the_median_and_quartiles_of_the_runs_still_going():
    curves = [(np.array([0.0, 100.0]), np.array([0.0, 100.0])), (np.array([0.0, 100.0]), np.array([10.0, 110.0])),
              (np.array([0.0, 50.0]), np.array([20.0, 70.0]))]
    band = curve_band(curves, points=3)  # steps 0, 50, 100
    assert list(band["runs"]) == [3, 3, 2]
    assert band["median"].tolist() == pytest.approx([10.0, 60.0, 105.0])
    assert band["q1"].iloc[1] == pytest.approx(55.0) and band["q3"].iloc[1] == pytest.approx(65.0)


def test_sweep_records_decide_what_runs_again(tmp_path):
    from lunar.commands.sweep.runner import Sweep

    trials = make_plan([_preset(tmp_path)], [0, 1, 2, 3], [])
    sweep = Sweep(tmp_path / "sweep", trials, eval_episodes=0)
    sweep.claim()
    try:
        sweep.record(trials[0], {"trial_id": trials[0].trial_id, "status": "solved"})
        sweep.record(trials[1], {"trial_id": trials[1].trial_id, "error": "RuntimeError: boom"})
        sweep.record_path(trials[2].trial_id).write_text("{ half a record")
        assert [t.seed for t in sweep.pending()] == [1, 2, 3]  # a failure and a damaged record run again
        with pytest.raises(UserError, match="holds another sweep"):
            Sweep(tmp_path / "sweep", trials[:2], eval_episodes=0).check()
    finally:
        from lunar.run import lock
        lock.release(tmp_path / "sweep")


# ------------------------------------------------------------- bad input, one line, exit 2
@pytest.mark.parametrize("args, message", [
    (["--config", "configs/nope.toml", "--seeds", "0"], "config file not found"),
    (["--config", "configs/fast.toml", "--seeds", "0-x"], "--seeds"),
    (["--config", "configs/fast.toml", "--set", "warp=9"], "not a hyperparameter"),
    (["--config", "configs/fast.toml", "--address", "127.0.0.1:1"], "no Ray cluster answers at 127.0.0.1:1"),
    (["--config", "configs/fast.toml", "--address", "ray://127.0.0.1:1"], "no Ray cluster answers at ray://127.0.0.1:1"),
    (["--config", "configs/fast.toml", "--eval-episodes", "-1"], "--eval-episodes must be between 0"),
    (["--config", "configs/fast.toml", "configs/fast.toml"], "two presets with one name"),
])
def test_sweep_bad_input_is_one_line_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "out"
    done = _lunar_sweep(*args, "--output-dir", out)
    assert done.returncode == 2 and message in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert not out.exists()


def test_sweep_without_ray_says_how_to_install(tmp_path, monkeypatch, capsys):
    from lunar.commands.sweep.cli import sweep_main

    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    assert sweep_main(["--config", str(_preset(tmp_path)), "--output-dir", str(tmp_path / "out")]) == 2
    assert 'pip install -e ".[sweep]"' in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("space, message", [
    (None, "is not a file"),
    ('base = "cartpole.toml"\nseeds = [0]\nmax_seconds = 10\n'
     '[space]\nwarp = { low = 1, high = 2 }\n', "'warp' is not a hyperparameter to tune"),
    ('base = "cartpole.toml"\nseeds = [0]\nmax_seconds = 0\n[space]\n', "need max_seconds > 0"),
    ('base = "cartpole.toml"\nseeds = [0]\nmax_seconds = "10"\n[space]\n', "max_seconds must be a number"),
    ('base = "cartpole.toml"\nseeds = [0]\nmax_steps = 10\nmax_seconds = 10\n[space]\n',
     "unknown keys max_steps"),
    ('base = "cartpole.toml"\nseeds = [0]\nmax_seconds = 10\n'
     '[space]\ntau = { low = 0.5, high = 2.0 }\n', "tau must be in"),
    ('base = "cartpole.toml"\nseeds = [0, 1]\nmax_seconds = 10\nseeds_per_trial = 3\n[space]\n',
     "seeds_per_trial must be a whole number from 1 to the number of seeds (2)"),
    ('base = "cartpole.toml"\nseeds = [0]\nmax_seconds = 10\nscore = "best"\n[space]\n',
     "score must be one of mean, worst"),
    ('base = "cartpole.toml"\nseeds = [0]\nmax_seconds = 10\nbase_first = "yes"\n[space]\n',
     "base_first must be true or false"),
    ('base = "cartpole.toml"\nseeds = [0]\nmax_seconds = 10\nbase_first = true\n'
     '[space]\nhidden_units = { choices = [16, 32] }\n', "the base's hidden_units = 64 is outside its range"),
])
def test_tune_bad_search_space_is_one_line_and_writes_nothing(tmp_path, capsys, space, message):
    from lunar.commands.sweep.cli import tune_main

    _preset(tmp_path)
    path = tmp_path / "space.toml"
    if space is not None:
        path.write_text(space)
    assert tune_main([str(path), "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- sweeps on a real Ray
@pytest.mark.slow
def test_sweep_runs_seeds_in_parallel_with_the_histories_of_plain_train_calls(tmp_path):
    from lunar.training import train

    preset, out = _preset(tmp_path), tmp_path / "sweep"
    done = _lunar_sweep("--config", preset, "--seeds", "0-1", "--output-dir", out, "--eval-episodes", "0",
                        "--cpus", "2")
    assert done.returncode == 0, done.stderr
    runs = pd.read_csv(out / "runs.csv")
    assert sorted(runs["seed"]) == [0, 1] and runs["error"].isna().all()
    for seed in (0, 1):
        plain = train(DQNConfig(**CARTPOLE, seed=seed), tmp_path / f"plain-{seed}")
        swept = _history(out / "runs" / f"cartpole_seed{seed}" / "cartpole_v1_history.csv")
        assert swept.equals(plain.history.drop(columns="elapsed_seconds"))
    assert (out / "curves.png").stat().st_size > 0 and "| cartpole | 0/2 |" in (out / "summary.md").read_text()


@pytest.mark.slow
def test_sweep_reports_a_crashing_trial_and_finishes_the_others(tmp_path):
    good, broken = _preset(tmp_path), _preset(tmp_path, "frozen", env_id="FrozenLake-v1")
    out = tmp_path / "sweep"
    done = _lunar_sweep("--config", good, broken, "--seeds", "3", "--output-dir", out, "--eval-episodes", "0")
    assert done.returncode == 1
    assert "frozen seed 3: FAILED: UserError: environment 'FrozenLake-v1'" in done.stdout, done.stdout
    runs = pd.read_csv(out / "runs.csv").set_index("trial_id")
    assert runs.loc["cartpole_seed3", "episodes"] == 6 and pd.isna(runs.loc["cartpole_seed3", "error"])
    assert "Discrete(16)" in runs.loc["frozen_seed3", "error"]


@pytest.mark.slow
def test_sweep_killed_and_started_again_does_not_redo_a_finished_trial(tmp_path):
    preset, out = _preset(tmp_path, num_episodes=30), tmp_path / "sweep"
    args = [sys.executable, "-m", "lunar.commands.sweep", "--config", str(preset), "--seeds", "0-2", "--cpus", "1",
            "--eval-episodes", "0", "--output-dir", str(out)]
    driver = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    deadline = time.time() + 300
    while not list((out / "trials").glob("*.json")):
        assert driver.poll() is None and time.time() < deadline
        time.sleep(0.2)
    first = sorted((out / "trials").glob("*.json"))[0]
    recorded = first.read_text()
    os.killpg(driver.pid, signal.SIGKILL)  # the driver and the local Ray it started
    driver.wait()
    again = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert "already done" in again.stdout and first.read_text() == recorded, again.stdout
    assert f"cartpole seed {json.loads(recorded)['seed']}:" not in again.stdout  # its line is not printed again
    assert len(pd.read_csv(out / "runs.csv")) == 3


@pytest.mark.slow
def test_tune_runs_two_trials_and_writes_a_loadable_preset(tmp_path):
    base = _preset(tmp_path, target_score=5.0)  # any first episode reaches it: both trials solve
    space = tmp_path / "space.toml"
    space.write_text('base = "cartpole.toml"\nseeds = [0, 1]\nmax_seconds = 60\nseeds_per_trial = 2\n'
                     'base_first = true\n[space]\nalpha = { low = 1e-4, high = 1e-2, log = true }\n'
                     'hidden_units = { choices = [16, 32, 64] }\n')
    done = subprocess.run([sys.executable, "-c", "import sys; from lunar.commands.sweep.cli import tune_main; "
                           "sys.exit(tune_main(sys.argv[1:]))", str(space), "--trials", "2", "--output-dir",
                           str(tmp_path / "tune")], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    trials = pd.read_csv(tmp_path / "tune" / "trials.csv")
    assert len(trials) == 2 and trials["error"].isna().all()
    assert trials["seconds"].is_monotonic_increasing  # the fastest first
    assert trials["solved"].all() and (trials["seconds"] * 2 == trials["cpu_seconds"]).all()  # the mean of two seeds
    assert all(sorted(str(seeds).split()) == ["0", "1"] for seeds in trials["seeds"])
    assert (trials["cpu_seconds"] > 0).all() and (trials["total_steps"] > 0).all()
    best = DQNConfig(**load_toml(tmp_path / "tune" / "best.toml"))
    assert best.hidden_units in (16, 32, 64) and 1e-4 <= best.alpha <= 1e-2 and best.env_id == "CartPole-v1"
    base_trial = trials[(trials["alpha"] == DQNConfig().alpha) & (trials["hidden_units"] == DQNConfig().hidden_units)]
    assert len(base_trial) == 1  # base_first: one trial ran the base preset's own values
    assert best.hidden_units == trials.iloc[0]["hidden_units"] and best.memory_size == load_toml(base)["memory_size"]


def test_tune_trial_over_several_seeds_scores_their_mean_or_their_worst():
    from lunar.commands.sweep.tuning import combined_score, trial_seeds

    scores = [{"seconds": 10.0, "solved": True, "status": "solved", "cpu_seconds": 10.0, "wall_seconds": 11.0,
               "total_steps": 100, "episodes": 5},
              {"seconds": 60.0, "solved": False, "status": "time_budget", "cpu_seconds": 30.1, "wall_seconds": 31.0,
               "total_steps": 300, "episodes": 9}]
    mean, worst = combined_score(scores, "mean"), combined_score(scores, "worst")
    assert (mean["seconds"], worst["seconds"]) == (35.0, 60.0)  # a cut-off seed counts as its penalty
    assert not mean["solved"] and mean["status"] == "1 of 2 solved"
    assert (mean["cpu_seconds"], mean["total_steps"], mean["episodes"]) == (40.1, 400, 14)
    assert combined_score(scores[:1], "worst") == scores[0]
    seeds = [500, 501, 502, 503]
    picked = trial_seeds("trial_0001", seeds, 3)
    assert len(set(picked)) == 3 and set(picked) <= set(seeds) and picked == trial_seeds("trial_0001", seeds, 3)
    assert picked[1] == seeds[(seeds.index(picked[0]) + 1) % 4]  # consecutive, wrapping round


def test_tune_trial_under_worst_trains_no_seed_after_a_cut_off():
    from lunar.commands.sweep.tuning import seed_scores

    def run_seed(seed):
        trained.append(seed)
        return {"seconds": 60.0 if seed == 2 else 5.0, "solved": seed != 2}

    for rule, expected in (("worst", [1, 2]), ("mean", [1, 2, 3])):
        trained = []
        scores = seed_scores(run_seed, [1, 2, 3], rule)
        assert trained == expected and len(scores) == len(expected)
    trained = []
    assert len(seed_scores(run_seed, [1, 3], "worst")) == 2 and trained == [1, 3]


def test_tune_trial_score_is_its_cpu_seconds_if_solved_else_twice_the_cap():
    from lunar.commands.sweep.tuning import trial_score
    from lunar.training import TrainResult

    history = pd.DataFrame({"return": [1.0, 2.0]})
    solved = trial_score(TrainResult(history, "solved", 500, wall_seconds=9.0, cpu_seconds=7.5), max_seconds=30)
    assert (solved["seconds"], solved["solved"], solved["episodes"], solved["wall_seconds"]) == (7.5, True, 2, 9.0)
    for status in ("time_budget", "episode_cap"):
        cut = trial_score(TrainResult(history, status, 500, wall_seconds=31.0, cpu_seconds=30.2), max_seconds=30)
        assert (cut["seconds"], cut["solved"], cut["cpu_seconds"]) == (60.0, False, 30.2)


def _kill_processes_using(folder: str) -> None:
    """Kill every process whose command line or open files name ``folder``: this test's own Ray
    nodes and their agents, and no other Ray on the machine (``ray stop`` would stop them all)."""
    for process in Path("/proc").glob("[0-9]*"):
        try:
            opened = [os.readlink(fd) for fd in (process / "fd").iterdir()]
            if any(folder in text for text in [(process / "cmdline").read_bytes().decode(errors="replace"), *opened]):
                os.kill(int(process.name), signal.SIGKILL)
        except (OSError, ValueError):
            pass


def _free_port() -> int:
    """A TCP port nothing listens on now (the OS picks it), so parallel test workers never share one."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_sweep_on_a_two_node_loopback_cluster_runs_on_both_nodes(tmp_path):
    ray_cli = str(Path(sys.executable).parent / "ray")
    head = f"127.0.0.1:{_free_port()}"
    env = dict(os.environ, RAY_AUTH_MODE="token")
    temp_dir = f"/tmp/lrt{os.getpid()}"  # short: Ray puts its sockets under it
    common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats"]
    try:
        subprocess.run([ray_cli, "start", "--head", f"--port={head.split(':')[1]}", "--include-dashboard=false",
                        f"--temp-dir={temp_dir}", *common], env=env, check=True, capture_output=True, timeout=180)
        subprocess.run([ray_cli, "start", f"--address={head}", *common], env=env, check=True,
                       capture_output=True, timeout=180)
        out = tmp_path / "sweep"
        done = _lunar_sweep("--config", _preset(tmp_path, num_episodes=40), "--seeds", "0-1", "--eval-episodes",
                            "0", "--output-dir", out, "--address", head, env=env)
        assert done.returncode == 0, done.stderr
        runs = pd.read_csv(out / "runs.csv")
        assert len(runs) == 2 and runs["node"].nunique() == 2, runs
    finally:
        _kill_processes_using(temp_dir)


def test_training_and_evaluation_never_import_ray_or_optuna():
    code = ("import sys, lunar, lunar.commands.cli, lunar.training, lunar.reports.evaluation, lunar.commands.sweep.plan, lunar.commands.sweep.stats, "
            "lunar.commands.sweep.trial; print(sorted(m for m in sys.modules if m.split('.')[0] in ('ray', 'optuna')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
    importers = [p.relative_to(ROOT) for p in (ROOT / "lunar").rglob("*.py") if p.parent.name != "sweep"
                 and any(w in p.read_text() for w in ("import ray", "from ray", "import optuna"))]
    assert importers == []
