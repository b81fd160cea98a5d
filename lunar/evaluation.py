"""Scoring a trained Q-network with a fixed protocol.

Protocol: episode ``i`` (0-based) is played greedily (epsilon 0) from
``env.reset(seed=seed + i)``; the default ``seed`` is 0, so the official score of a
model is the mean return over seeds ``0..99``. Same model, same seeds, same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lunar.errors import UserError

DEFAULT_MODEL = Path("models/lunar_lander_model.h5")
SOLVED_SCORE = 200.0
VALIDATION_SEED = 1_000_000
"""First seed of the validation episodes that model selection plays during training,
far from the official seeds 0..99 so that the official score stays a held-out test."""


@dataclass
class Score:
    """Summary of an evaluation."""

    episodes: pd.DataFrame

    @property
    def returns(self) -> np.ndarray:
        return self.episodes["return"].to_numpy()

    def summary(self, threshold: float = SOLVED_SCORE) -> dict[str, float]:
        r = self.returns
        return {"episodes": len(r), "mean": float(r.mean()), "std": float(r.std()), "min": float(r.min()),
                "median": float(np.median(r)), "max": float(r.max()),
                "share_at_or_above": float((r >= threshold).mean())}


def load_q_network(path: str | Path) -> Any:
    """Load a Keras model in safe mode (a ``Lambda`` layer or other stored code is refused).

    Every failure is a UserError with one clear line.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"model file {path} does not exist; train one with `python train.py` "
                        "(or pass --model PATH)")
    if path.is_dir():
        raise UserError(f"{path} is a folder, not a Keras model file")
    if path.suffix.lower() not in (".h5", ".hdf5", ".keras"):
        raise UserError(f"{path} is not a Keras model file (.h5 or .keras)")
    import keras

    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except ValueError as error:
        text = str(error)
        if "safe_mode" in text or "arbitrary code" in text:
            raise UserError(f"{path} carries code (e.g. a Lambda layer) and was refused; "
                            "only plain layer models are loaded") from None
        raise UserError(f"{path} is not a readable Keras model: {text.splitlines()[0][:200]}") from None
    except Exception as error:  # h5py/zip/OS errors on a truncated or foreign file
        first = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        raise UserError(f"{path} is not a readable Keras model (truncated or another format?): {first}") from None
    return model


def check_model_fits(model: Any, env: Any, env_id: str) -> None:
    """UserError naming both shapes unless the model maps observations to one Q per action."""
    obs_shape = tuple(env.observation_space.shape)
    n_actions = int(env.action_space.n)
    try:
        in_shape = tuple(model.input_shape[1:])
        out_shape = tuple(model.output_shape[1:])
    except (AttributeError, ValueError):
        raise UserError("the model has no single input and output; it is not a Q-network") from None
    if in_shape != obs_shape or out_shape != (n_actions,):
        raise UserError(f"the model maps {in_shape} -> {out_shape}, but {env_id} needs "
                        f"{obs_shape} -> ({n_actions},)")


def outcome(env: Any, state: np.ndarray, terminated: bool, truncated: bool) -> str:
    """'landed', 'crashed', 'flew away', 'timed out on the ground' or 'timed out in the air' for
    LunarLander; else 'terminated' / 'truncated'.

    'Timed out on the ground' is the fast preset's commonest failure: legs down, at rest, but
    firing an engine now and then, which keeps Box2D from putting the body to sleep, and only a
    body asleep earns the +100 and ends the episode. The observation cannot show how long the
    lander has been still, so the network hardly tells "wait" from "fire a little".
    """
    base = env.unwrapped
    lunar_lander = hasattr(base, "lander") and hasattr(base, "game_over")
    if truncated and not terminated:
        if lunar_lander:
            on_ground = len(state) >= 8 and (state[6] > 0.5 or state[7] > 0.5)
            return "timed out on the ground" if on_ground else "timed out in the air"
        return "timed out"
    if lunar_lander:
        if base.game_over:
            return "crashed"
        if abs(float(state[0])) >= 1.0:
            return "flew away"
        if not base.lander.awake:
            return "landed"
    return "terminated" if terminated else "truncated"


def evaluate_policy(model: Any, env: Any, episodes: int = 100, seed: int = 0,
                    max_steps: int = 100_000) -> Score:
    """Play ``episodes`` greedy episodes with seeds ``seed, seed + 1, ...``."""
    from lunar.video import greedy_policy

    policy = greedy_policy(model)
    rows = []
    for i in range(episodes):
        state, _ = env.reset(seed=seed + i)
        total, steps, terminated, truncated = 0.0, 0, False, False
        while not (terminated or truncated) and steps < max_steps:
            state, reward, terminated, truncated, _ = env.step(policy(state))
            total += float(reward)
            steps += 1
        rows.append({"episode": i + 1, "seed": seed + i, "return": total, "steps": steps,
                     "outcome": outcome(env, state, terminated, truncated)})
    return Score(pd.DataFrame(rows))


def evaluate(model: str | Path | Any = DEFAULT_MODEL, env: str = "LunarLander-v3", episodes: int = 100,
             seed: int = 0) -> Score:
    """Score a model (a path or a loaded Keras model) with the fixed-seed protocol."""
    from lunar.envs import make_env

    q_network = load_q_network(model) if isinstance(model, (str, Path)) else model
    environment = make_env(env)
    try:
        check_model_fits(q_network, environment, env)
        return evaluate_policy(q_network, environment, episodes=episodes, seed=seed)
    finally:
        environment.close()


def validation_score(weights: list[np.ndarray], env: Any, episodes: int, seed: int = VALIDATION_SEED) -> float:
    """Mean greedy return of a Q-network given as numpy ``weights`` (see
    :func:`lunar.networks.numpy_forward`) over ``episodes`` episodes from seeds
    ``seed, seed + 1, ...``: the yardstick of model selection during training."""
    from lunar.networks import numpy_forward

    return float(evaluate_policy(lambda state: numpy_forward(weights, state), env, episodes, seed).returns.mean())
