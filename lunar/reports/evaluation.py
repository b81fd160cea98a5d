"""Playing a trained Q-network greedily, and scoring it with a fixed protocol.

:func:`play` is the one loop of a fixed policy, step by step, behind scoring, videos
(:mod:`lunar.commands.video`) and the validation test (:mod:`lunar.run.stopping`).

Protocol: episode ``i`` (0-based) is played greedily (epsilon 0) from
``env.reset(seed=seed + i)``; the default ``seed`` is 0, so the official score of a
model is the mean return over seeds ``0..99``. Same model, same seeds, same numbers.
"""

from __future__ import annotations

import numbers
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd

from lunar.agent import numpy_forward, numpy_weights
from lunar.errors import UserError

DEFAULT_MODEL = Path("models/lunar_lander_model.h5")
SOLVED_SCORE = 200.0
VALIDATION_SEED = 1_000_000
"""The first reset seed of validation episodes, far from the official 0..99: what training decides
on (the validation test before stopping, lunar-tune's scores) never sees the official episodes."""


@dataclass(frozen=True)
class Step:
    """Where an episode stands: ``t`` steps taken (0 at the reset), the state they led to, the last
    reward and the return so far, and whether the episode ended there."""

    t: int
    state: np.ndarray
    reward: float
    total: float
    terminated: bool = False
    truncated: bool = False


def play(env: Any, policy: Callable[[np.ndarray], int], seed: int | None = None,
         max_steps: int = 100_000) -> Iterator[Step]:
    """The reset ``env.reset(seed=seed)`` (``t = 0``), then one :class:`Step` per action of ``policy``,
    until the episode terminates, is truncated or has taken ``max_steps`` steps."""
    state, _ = env.reset(seed=seed)
    total = 0.0
    yield Step(0, state, 0.0, total)
    for t in range(1, max_steps + 1):
        state, reward, terminated, truncated, _ = env.step(policy(state))
        total += float(reward)
        yield Step(t, state, float(reward), total, bool(terminated), bool(truncated))
        if terminated or truncated:
            return


def last_step(steps: Iterator[Step]) -> Step:
    """Play ``steps`` to the end; the last one."""
    for step in steps:
        pass
    return step


def greedy_policy(q_network: Any) -> Callable[[np.ndarray], int]:
    """``state -> argmax_a Q(state, a)``; a Keras model runs as numpy, any other callable as is."""
    if hasattr(q_network, "weights") and hasattr(q_network, "layers"):
        arrays = numpy_weights(q_network)
        return lambda state: int(np.argmax(numpy_forward(arrays, np.asarray(state, np.float32))))
    return lambda state: int(np.argmax(np.asarray(q_network(np.expand_dims(state, 0))).reshape(-1)))


def outcome(env: Any, state: np.ndarray, terminated: bool, truncated: bool) -> str:
    """How an episode ended: for LunarLander 'landed', 'crashed', 'flew away', 'timed out on
    the ground' or 'timed out in the air'; for other environments 'terminated', 'truncated'
    or 'timed out'.

    A lander earns its +100 only once Box2D puts the resting body to sleep; one that stands on
    its legs but fires an engine now and then stays awake and 'times out on the ground', the
    first fast preset's commonest failure (``docs/tuning.md``, "Where the points go").
    """
    base = env.unwrapped
    lunar_lander = hasattr(base, "lander") and hasattr(base, "game_over")
    if truncated and not terminated:
        if lunar_lander:
            on_ground = state[6] > 0.5 or state[7] > 0.5  # the leg-contact flags
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
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise UserError(f"model file {path} does not exist; train one with `python train.py` "
                        "(or pass --model PATH)") from None
    except OSError as error:  # a name too long, a folder that is a file
        raise UserError(f"cannot read model file {path}: {error.strerror or error}") from None
    if stat.S_ISDIR(mode):
        raise UserError(f"{path} is a folder, not a Keras model file")
    if not stat.S_ISREG(mode):
        raise UserError(f"model file {path} is not a regular file")
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


def evaluate_policy(model: Any, env: Any, episodes: int = 100, seed: int = 0,
                    max_steps: int = 100_000) -> Score:
    """Play ``episodes`` greedy episodes with seeds ``seed, seed + 1, ...``."""
    policy = greedy_policy(model)
    rows = []
    for i in range(episodes):
        end = last_step(play(env, policy, seed + i, max_steps))
        rows.append({"episode": i + 1, "seed": seed + i, "return": end.total, "steps": end.t,
                     "outcome": outcome(env, end.state, end.terminated, end.truncated)})
    return Score(pd.DataFrame(rows))


MAX_EPISODES = 1_000_000


def check_protocol(episodes: int, seed: int) -> None:
    """UserError unless ``episodes`` is a whole number in 1..1,000,000 and the reset seeds
    ``seed .. seed + episodes - 1`` are whole numbers in 0..2**31 - 1."""
    def whole(value: Any) -> bool:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)

    if not (whole(episodes) and 0 < episodes <= MAX_EPISODES):
        raise UserError(f"episodes must be a whole number between 1 and {MAX_EPISODES:,}, got {episodes!r}")
    highest = 2**31 - 1 - int(episodes)
    if not (whole(seed) and 0 <= seed <= highest):
        raise UserError(f"seed must be a whole number between 0 and {highest:,} for {episodes} episodes, "
                        f"got {seed!r}")


def evaluate(model: str | Path | Any = DEFAULT_MODEL, env: str = "LunarLander-v3", episodes: int = 100,
             seed: int = 0) -> Score:
    """Score a model (a path or a loaded Keras model) with the fixed-seed protocol."""
    from lunar.envs import make_env

    check_protocol(episodes, seed)
    q_network = load_q_network(model) if isinstance(model, (str, Path)) else model
    environment = make_env(env)
    try:
        check_model_fits(q_network, environment, env)
        return evaluate_policy(q_network, environment, episodes=episodes, seed=seed)
    finally:
        environment.close()
