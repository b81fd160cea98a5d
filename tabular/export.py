"""A learned Q-table as the Deep RL course's Unit 2 shares it, without pickle: ``python -m tabular taxi --export DIR``
(and ``frozenlake-unit2``).

The folder holds ``q-table.json`` (the table, the environment id and options, every Q-learning
setting, the evaluation seeds and step cap: what Unit 2's ``model.pkl`` holds, as JSON),
``results.json`` (the Hub's fields: ``mean_reward``, ``std_reward``, ``is_deterministic``,
``n_eval_episodes``, ``eval_datetime``; and the exact comparison with value iteration) and a
``README.md`` model card whose YAML metadata the leaderboard reads (``mean_reward`` written
``"x +/- y"``). ``lunar/commands/package.py`` writes the same card for a Keras model; the two packages
stand alone, so each keeps its own few lines.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from pathlib import Path
from typing import Any

import numpy as np

from tabular.files import write_atomically

def hub_env_id(spec: Any) -> str:
    """The leaderboard's name: Unit 2's ``Taxi-v3`` is Gymnasium 1.3's ``Taxi-v4`` (the same MDP); FrozenLake's
    carries its map and ``no_slippery`` as Unit 2's ``package_to_hub`` writes them."""
    if spec.id == "Taxi-v4":
        return "Taxi-v3"
    if spec.id == "FrozenLake-v1":
        slippery = "" if spec.kwargs.get("is_slippery", True) else "-no_slippery"
        return f"FrozenLake-v1-{spec.kwargs.get('map_name', '4x4')}{slippery}"
    return spec.id


def export(outcome: Any, folder: Path, score: tuple[float, float], seeds: tuple[int, ...], max_steps: int,
           exact: dict[str, float]) -> list[Path]:
    """Write the folder of this module's docstring for a learned world; the paths written."""
    env_id = outcome.env.spec.id
    hub_id = hub_env_id(outcome.env.spec)
    mean, std = score
    table = {"env_id": env_id, "hub_env_id": hub_id, "env_kwargs": dict(outcome.env.spec.kwargs),
             "qtable": np.round(outcome.result.q, 6).tolist(), "hyperparameters": dataclasses.asdict(outcome.config),
             "eval_seed": list(seeds), "max_steps": max_steps, "n_eval_episodes": len(seeds)}
    results = {"env_id": hub_id, "mean_reward": round(mean, 4), "std_reward": round(std, 4), "is_deterministic": True,
               "n_eval_episodes": len(seeds), "eval_datetime": datetime.datetime.now().isoformat(timespec="seconds"),
               "mean_minus_std": round(mean - std, 4), **{k: round(v, 4) for k, v in exact.items()}}
    written = []
    for name, text in (("q-table.json", json.dumps(table) + "\n"), ("results.json", json.dumps(results, indent=2) + "\n"),
                       ("README.md", card(results, outcome, env_id))):
        written.append(write_atomically(Path(folder) / name, lambda path, text=text: path.write_text(text,
                                                                                                     encoding="utf-8")))
    return written


def card(results: dict[str, Any], outcome: Any, env_id: str) -> str:
    hub_id, mean, std = results["env_id"], results["mean_reward"], results["std_reward"]
    metadata = "\n".join([
        "---", "tags:", f"- {hub_id}", "- q-learning", "- reinforcement-learning", "- custom-implementation",
        "- lunar-kit", "model-index:", "- name: q-learning", "  results:", "  - task:",
        "      type: reinforcement-learning", "      name: reinforcement-learning", "    dataset:",
        f"      name: {hub_id}", f"      type: {hub_id}", "    metrics:", "    - type: mean_reward",
        f"      value: {mean:.2f} +/- {std:.2f}", "      name: mean_reward", "      verified: false", "---"])
    config = outcome.config
    same = f" (Gymnasium's `{env_id}`, {dict(outcome.env.spec.kwargs) or 'default options'})" if hub_id != env_id else ""
    return f"""{metadata}

# Q-learning on {hub_id} (lunar-kit)

A Q-table learned by tabular Q-learning{same}: {config.episodes:,} episodes, learning rate {config.alpha},
gamma {config.gamma}, epsilon from {config.epsilon_start} to {config.epsilon_end}, seed {config.seed}.

| evaluation | mean | std | mean - std |
|---|---:|---:|---:|
| {results['n_eval_episodes']} greedy episodes on the course's fixed seeds | {mean:.2f} | {std:.2f} | {results['mean_minus_std']:.2f} |

Against value iteration's exact optimum (expected return over the start states; FrozenLake: success within the
step cap): learned {results.get('learned_expected_return', float('nan')):.3f}, optimum {results.get('optimal_expected_return', float('nan')):.3f}.

## How to use it

```python
import json, numpy as np, gymnasium as gym
model = json.load(open("q-table.json"))
q_table = np.array(model["qtable"])
env = gym.make(model["env_id"], **model["env_kwargs"])
```

Made with `python -m tabular {outcome.world} --seed {config.seed} --export DIR`.
"""
