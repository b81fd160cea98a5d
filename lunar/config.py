"""Every hyperparameter of the Deep Q-Network in one dataclass.

The defaults are the course lab's ("Deep Q-Learning: Lunar Lander"). The options
below the course block (wider layers, Huber loss, Double DQN, gradient clipping,
several gradient steps per update, saving the target network, a greedy validation test
before stopping) are off by default
and switched on by the ``configs/fast.toml`` preset. Variants that were measured and
rejected are recorded in ``docs/tuning.md``, not kept here.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from lunar.errors import UserError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


@dataclass(frozen=True)
class DQNConfig:
    """Hyperparameters of a training run (course defaults)."""

    env_id: str = "LunarLander-v3"
    """Gymnasium environment id: a flat Box observation and Discrete actions."""
    seed: int = 0
    """Seeds the network initialisation, the environment and the agent's random draws."""

    # --- the course's hyperparameters -------------------------------------
    memory_size: int = 100_000
    """MEMORY_SIZE: capacity of the replay memory (transitions)."""
    gamma: float = 0.995
    """GAMMA: discount factor."""
    alpha: float = 1e-3
    """ALPHA: learning rate of Adam."""
    num_steps_for_update: int = 4
    """NUM_STEPS_FOR_UPDATE: learn every this many environment steps."""
    minibatch_size: int = 64
    """MINIBATCH_SIZE: transitions per gradient step."""
    tau: float = 1e-3
    """TAU: soft-update rate, theta_target <- tau * theta + (1 - tau) * theta_target."""
    e_decay: float = 0.995
    """E_DECAY: epsilon <- max(E_MIN, E_DECAY * epsilon) after every episode."""
    e_min: float = 0.01
    """E_MIN: floor of epsilon."""
    epsilon_start: float = 1.0
    """Initial epsilon of the epsilon-greedy policy."""
    num_episodes: int = 2000
    """Episode cap of a run."""
    max_num_timesteps: int = 1000
    """Step cap of an episode (a truncation: the target still bootstraps)."""
    num_p_av: int = 100
    """Episodes in the moving average that decides when the task is solved."""
    target_score: float = 200.0
    """The run stops once the moving average reaches this score."""
    hidden_units: int = 64
    """Width of both hidden layers of the Q-network."""

    # --- options of the same algorithm, off in the course preset ----------
    loss: str = "mse"
    """'mse' (course) or 'huber' (smooth L1, delta 1)."""
    double_dqn: bool = False
    """Double DQN: the online network picks a', the target network rates it."""
    grad_clip_norm: float = 0.0
    """Clip the global gradient norm to this value; 0 disables clipping."""
    gradient_steps: int = 1
    """Gradient steps (each on a fresh mini-batch) per update."""
    save_target_network: bool = False
    """Save the target network, the Polyak average of the Q-network's recent weights,
    as the model instead of the Q-network itself (the course saves the Q-network)."""
    validation_episodes: int = 0
    """A second stopping test: once the moving average reaches target_score, the network the run
    saves must also average validation_target over this many greedy episodes from reset seeds
    1,000,000 + i (never the official 0..99); 0 keeps the course's rule alone."""
    validation_target: float = 250.0
    """The mean greedy return those validation episodes must reach."""
    validation_every: int = 10
    """Episodes between validation tests while the average stays at the target (the first test is
    the episode where the average reaches it)."""

    def __post_init__(self) -> None:
        validate(self)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> "DQNConfig":
        return dataclasses.replace(self, **changes)


def field_docs() -> dict[str, str]:
    """The docstring under each field, for ``--help``."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(DQNConfig))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, following in zip(body, body[1:]):
        if isinstance(node, ast.AnnAssign) and isinstance(following, ast.Expr):
            value = getattr(following, "value", None)
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docs[node.target.id] = " ".join(value.value.split())  # type: ignore[attr-defined]
    return docs


def validate(config: DQNConfig) -> None:
    """Raise UserError naming the first hyperparameter out of range."""
    c = config

    def need(ok: bool, message: str) -> None:
        if not ok:
            raise UserError(message)

    for name, largest in INTEGER_LIMITS.items():
        value = getattr(c, name)
        smallest = 0 if name in ("seed", "validation_episodes") else 1
        need(isinstance(value, int) and not isinstance(value, bool) and smallest <= value,
             f"{name} must be {'an integer >= 0' if smallest == 0 else 'a positive integer'}, got {value!r}")
        need(value <= largest, f"{name} must be at most {largest:,}, got {value:,}")
    for name in ("double_dqn", "save_target_network"):
        need(isinstance(getattr(c, name), bool), f"{name} must be true or false, got {getattr(c, name)!r}")
    for name in ("gamma", "alpha", "tau", "e_decay", "e_min", "epsilon_start", "target_score",
                 "grad_clip_norm", "validation_target"):
        value = getattr(c, name)
        need(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
             f"{name} must be a finite number, got {value!r}")
    need(0.0 <= c.gamma <= 1.0, f"gamma must be in [0, 1], got {c.gamma}")
    need(0.0 < c.tau <= 1.0, f"tau must be in (0, 1], got {c.tau}")
    need(c.alpha > 0.0, f"alpha (learning rate) must be > 0, got {c.alpha}")
    need(0.0 < c.e_decay <= 1.0, f"e_decay must be in (0, 1], got {c.e_decay}")
    need(0.0 <= c.e_min <= 1.0, f"e_min must be in [0, 1], got {c.e_min}")
    need(0.0 <= c.epsilon_start <= 1.0, f"epsilon_start must be in [0, 1], got {c.epsilon_start}")
    need(c.grad_clip_norm >= 0.0, f"grad_clip_norm must be >= 0, got {c.grad_clip_norm}")
    need(c.minibatch_size < c.memory_size,
         f"minibatch_size ({c.minibatch_size}) must be smaller than memory_size ({c.memory_size}): learning "
         "starts once the memory holds more than a mini-batch" if c.minibatch_size == c.memory_size else
         f"minibatch_size ({c.minibatch_size}) is larger than memory_size ({c.memory_size})")
    need(c.loss in ("mse", "huber"), f"loss must be 'mse' or 'huber', got {c.loss!r}")
    need(isinstance(c.env_id, str) and c.env_id != "" and ":" not in c.env_id,
         f"env_id must be a registered Gymnasium id (no 'module:' prefix), got {c.env_id!r}")


INTEGER_LIMITS = {"seed": 2**31 - 1, "memory_size": 10_000_000, "num_steps_for_update": 1_000_000,
                  "minibatch_size": 65_536, "num_episodes": 10_000_000, "max_num_timesteps": 1_000_000,
                  "num_p_av": 1_000_000, "hidden_units": 4096, "gradient_steps": 1000,
                  "validation_episodes": 100_000, "validation_every": 1_000_000}
"""The largest value of each integer field: checked before any work, and shown in ``--help``."""


def read_toml(path: str | Path, what: str = "config file") -> dict[str, Any]:
    """The TOML table in ``path``; every way it can fail is one :class:`UserError` naming ``what``.

    Beyond ``TOMLDecodeError``, the parser raises ``ValueError`` for an integer of thousands of
    digits and ``RecursionError`` for thousands of nested arrays.
    """
    path = Path(path)
    try:
        if path.exists() and not path.is_file():
            raise UserError(f"{what} {path} is not a regular file")
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{what} not found: {path}") from None
    except OSError as error:
        raise UserError(f"{what} {str(path)[:200]} cannot be read: {error.strerror or error}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, ValueError, RecursionError) as error:
        raise UserError(f"{what} {path} is not valid TOML: {str(error)[:200] or type(error).__name__}") from None


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read hyperparameters from a TOML file (a flat table of DQNConfig fields)."""
    data = read_toml(path)
    known = {f.name for f in fields(DQNConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise UserError(f"config file {path}: unknown keys {', '.join(unknown)}")
    return data


def to_toml(config: DQNConfig) -> str:
    """The configuration as TOML text that ``load_toml`` reads back."""
    lines = []
    for key, value in config.to_dict().items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str):
            text = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        else:
            text = repr(value)
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


def differences(saved: dict[str, Any], current: DQNConfig) -> list[str]:
    """Fields whose value differs between a saved configuration and ``current``."""
    out = []
    for key, value in current.to_dict().items():
        if key in saved and saved[key] != value:
            out.append(f"{key}: {saved[key]!r} -> {value!r}")
    return out


def is_course_preset(config: DQNConfig, but_for: tuple[str, ...] = ("seed",)) -> bool:
    """True when ``config`` holds the course's hyperparameters in every field but those named in ``but_for``."""
    course = DQNConfig()
    return all(getattr(config, f.name) == getattr(course, f.name) for f in fields(DQNConfig) if f.name not in but_for)
