"""A model folder to share as the Hugging Face Hub expects it: ``python evaluate.py --package DIR``.

What ``huggingface_sb3``'s ``package_to_hub`` puts in a model repository, for this kit's model:

- ``<stem>_model.h5`` (as trained) and ``<stem>_model.keras`` (Keras' native format);
- ``config.toml``, ``history.csv`` and ``learning_curve.png`` when they lie beside the model (a run folder);
- ``results.json``: the Hub's fields (``mean_reward``, ``std_reward``, ``is_deterministic``,
  ``n_eval_episodes``, ``eval_datetime``) and the kit's (median, share at 200 or above, outcomes,
  seeds, the leaderboard's score ``mean - std`` and its mark, versions);
- ``replay.mp4``: one greedy episode from ``reset(seed=0)``;
- ``README.md``: a model card whose YAML metadata the leaderboard reads (``model-index`` with the
  metric ``mean_reward`` written ``"x +/- y"``, tags), then a part for people: the command that
  trained it, the score table, how to load it.

The score is the official protocol's (100 greedy episodes, episode ``i`` from ``reset(seed=i)``).
:func:`push` uploads the folder with ``huggingface_hub`` (the optional ``hub`` extra).
"""

from __future__ import annotations

import datetime
import json
import platform
import re
from pathlib import Path
from typing import Any, Callable

from lunar.errors import UserError

HUB_MARK = 200.0
"""The Deep RL course's pass mark for LunarLander: ``mean_reward - std_reward`` at or above it."""
EPISODES, SEED = 100, 0
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$")


def hub_score(mean: float, std: float) -> float:
    """The leaderboard's score: ``mean_reward - std_reward``."""
    return mean - std


def check_package_folder(folder: Path) -> None:
    """UserError unless ``folder`` is new, empty, or an earlier package (its ``results.json``): before any work."""
    from lunar.run.atomic import check_writable

    if folder.exists() and not folder.is_dir():
        raise UserError(f"--package {folder}: a file is there, not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / "results.json").is_file():
        raise UserError(f"--package {folder}: the folder holds other files (a package folder is new, empty, or "
                        "an earlier package)")
    check_writable(folder, "results.json")


def check_repo_id(repo_id: str) -> str:
    if not REPO_ID.match(repo_id) or ".." in repo_id:
        raise UserError(f"--push {repo_id!r}: a Hub repository id is USER/NAME (letters, digits, '-', '_', '.')")
    return repo_id


def results_record(summary: dict[str, float], outcomes: dict[str, int], env_id: str) -> dict[str, Any]:
    """``results.json``: the Hub's fields first, then the kit's."""
    return {"env_id": env_id, "mean_reward": round(summary["mean"], 4), "std_reward": round(summary["std"], 4),
            "is_deterministic": True, "n_eval_episodes": int(summary["episodes"]),
            "eval_datetime": datetime.datetime.now().isoformat(timespec="seconds"),
            "median_reward": round(summary["median"], 4), "min_reward": round(summary["min"], 4),
            "share_at_or_above_200": round(summary["share_at_or_above"], 4), "outcomes": outcomes,
            "seeds": f"reset(seed=i) for episode i, i = {SEED}..{SEED + int(summary['episodes']) - 1}",
            "hub_score": round(hub_score(summary["mean"], summary["std"]), 4), "hub_mark": HUB_MARK,
            "passes_hub_mark": hub_score(summary["mean"], summary["std"]) >= HUB_MARK, "versions": versions()}


def versions() -> dict[str, str]:
    from lunar.commands.doctor import installed_version

    found = {"python": platform.python_version()}
    for name in ("lunar-kit", "tensorflow", "keras", "gymnasium", "numpy"):
        found[name] = installed_version(name) or "not installed"
    return found


def training_command(config: Any | None) -> str:
    """The command that makes the run of ``config`` again: ``python train.py --seed N`` for the course
    preset, else ``python train.py --config config.toml``; "" when no configuration came with the model."""
    from lunar.config import is_course_preset

    if config is None:
        return ""
    if is_course_preset(config):
        return f"python train.py --seed {config.seed}"
    return "python train.py --config config.toml"


RUN_FILES = {"config": "config.toml", "history": "history.csv", "plot": "learning_curve.png"}


def package(model_path: Path, folder: Path, env_id: str = "LunarLander-v3",
            message: Callable[[str], None] = print) -> dict[str, Any]:
    """Score the model at ``model_path`` with the official protocol and write the folder of this
    module's docstring; returns ``results.json``'s record. Every file is written atomically."""
    from lunar.run.atomic import write_text, write_with
    from lunar.envs import make_env
    from lunar.run.outputs import model_stem
    from lunar.reports.evaluation import check_model_fits, evaluate_policy, load_q_network
    from lunar.run.outputs import save_h5
    from lunar.commands.video import check_video_writer, create_video

    check_package_folder(folder)
    check_video_writer(".mp4")  # replay.mp4: found out before any episode, not after
    model = load_q_network(model_path)
    env = make_env(env_id)
    try:
        check_model_fits(model, env, env_id)
        score = evaluate_policy(model, env, episodes=EPISODES, seed=SEED)
    finally:
        env.close()
    folder.mkdir(parents=True, exist_ok=True)
    stem = model_stem(env_id)
    save_h5(model, folder / f"{stem}_model.h5")
    write_with(folder / f"{stem}_model.keras", model.save)
    config = _copy_run_files(Path(model_path), folder, env_id)
    outcomes = {str(k): int(v) for k, v in score.episodes["outcome"].value_counts().items()}
    results = results_record(score.summary(), outcomes, env_id)
    write_text(folder / "results.json", json.dumps(results, indent=2) + "\n")
    replay_env = make_env(env_id, render_mode="rgb_array")
    try:
        create_video(folder / "replay.mp4", replay_env, model, fps=30, seed=SEED)
    finally:
        replay_env.close()
    files = sorted({p.name for p in folder.iterdir() if not p.name.startswith(".")} | {"README.md"})
    write_text(folder / "README.md", model_card(results, training_command(config), stem, files))
    message(f"package: {folder} ({', '.join(files)})")
    return results


def _copy_run_files(model_path: Path, folder: Path, env_id: str) -> Any | None:
    """The run's configuration, history and curve when the model lies in its run folder; its DQNConfig."""
    from lunar.run.atomic import write_bytes
    from lunar.config import DQNConfig, load_toml
    from lunar.run.outputs import output_paths

    paths = output_paths(model_path.parent, env_id)
    if paths["model"].resolve() != model_path.resolve():
        return None
    for key, name in RUN_FILES.items():
        if paths[key].is_file():
            write_bytes(folder / name, paths[key].read_bytes())
    try:
        return DQNConfig(**load_toml(paths["config"])) if paths["config"].is_file() else None
    except (UserError, TypeError, ValueError):  # a hand-edited file: the card says the command is not known
        return None


def push(folder: Path, repo_id: str) -> str:
    """Upload ``folder`` to the model repository ``repo_id`` (created if new); its URL. UserError in one line
    without ``huggingface_hub``, without a token, or when the Hub cannot be reached."""
    try:
        from huggingface_hub import HfApi, get_token
    except ImportError:
        raise UserError(f'--push needs huggingface_hub: pip install -e ".[hub]" (the package {folder} is written)') \
            from None
    token = get_token()
    if not token:
        raise UserError(f"--push needs a Hugging Face token: set HF_TOKEN or run `hf auth login` "
                        f"(the package {folder} is written)")
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="model", exist_ok=True)
        commit = api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="model",
                                   commit_message="lunar-kit: model package")
    except Exception as error:  # noqa: BLE001 - offline, refused, rate-limited: one line
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise UserError(f"--push {repo_id}: the Hub did not take it ({first}); the package {folder} is written") \
            from None
    return str(getattr(commit, "commit_url", f"https://huggingface.co/{repo_id}"))


def model_card(results: dict[str, Any], command: str, stem: str, files: list[str]) -> str:
    """``README.md``: the Hub's YAML metadata (as ``huggingface_sb3`` writes it), then a part for people."""
    env, mean, std = results["env_id"], results["mean_reward"], results["std_reward"]
    metadata = "\n".join([
        "---", "library_name: keras", "tags:", f"- {env}", "- deep-reinforcement-learning",
        "- reinforcement-learning", "- deep-q-network", "- lunar-kit", "model-index:", "- name: DQN", "  results:",
        "  - task:", "      type: reinforcement-learning", "      name: reinforcement-learning", "    dataset:",
        f"      name: {env}", f"      type: {env}", "    metrics:", "    - type: mean_reward",
        f"      value: {mean:.2f} +/- {std:.2f}", "      name: mean_reward", "      verified: false", "---"])
    verdict = "passes" if results["passes_hub_mark"] else "does not pass"
    trained = (f"```bash\n{command}\n```\n\nwith the hyperparameters in `config.toml`." if command else
               "No configuration came with the model, so the command that trained it is not known.")
    outcomes = ", ".join(f"{name} {count}" for name, count in results["outcomes"].items())
    return f"""{metadata}

# DQN on {env} (lunar-kit)

A Deep Q-Network (Keras `Sequential`, two hidden layers of ReLU units, one Q-value per action) trained with
lunar-kit, the course lab "Deep Q-Learning: Lunar Lander" in Keras 3 and Gymnasium 1.x.

## Score

{results['n_eval_episodes']} greedy episodes on {env}, episode i from `reset(seed=i)`, i = 0..{results['n_eval_episodes'] - 1}:

| mean | std | mean - std (the leaderboard's score) | median | at or above 200 | outcomes |
|---:|---:|---:|---:|---:|---|
| {mean:.1f} | {std:.1f} | {results['hub_score']:.1f} | {results['median_reward']:.1f} | {100 * results['share_at_or_above_200']:.0f}% | {outcomes} |

The leaderboard's score {verdict} its mark for LunarLander ({results['hub_mark']:g}).

## How it was trained

{trained}

## How to use it

```python
import keras
q_network = keras.models.load_model("{stem}_model.keras")
```

Or score it again with lunar-kit: `python evaluate.py --model {stem}_model.h5 --episodes 100 --no-video`.
The folder holds: {', '.join(f'`{name}`' for name in files)}. Versions: {', '.join(f'{k} {v}' for k, v in results['versions'].items())}.
"""
