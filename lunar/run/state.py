"""All the state of a training run in one value, and its checkpoint form.

:meth:`Run.start` builds a fresh run from a configuration. :meth:`Run.bundle` turns a run
into plain arrays and JSON (what a checkpoint stores) and :meth:`Run.unbundle` rebuilds
it: a run restored from its bundle continues exactly as the original would have.
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import gymnasium as gym
import numpy as np
import pandas as pd

from lunar.agent import DQNAgent
from lunar.run.checkpoint import HISTORY_COLUMNS, Bundle, Checkpoint, valid_checkpoints
from lunar.config import DQNConfig
from lunar.envs import space_sizes
from lunar.errors import UserError, warn
from lunar.fast_update import FastUpdate
from lunar.run.lab_code import LabCode
from lunar.replay import ReplayMemory


@dataclass
class Run:
    """A training run: the environment, the agent and its compiled update, the replay memory, the
    one random generator the loop draws from, epsilon, the counters and the history so far."""

    config: DQNConfig
    env: gym.Env
    agent: DQNAgent
    update: FastUpdate
    memory: ReplayMemory
    rng: np.random.Generator
    epsilon: float
    lab_code: LabCode = LabCode()
    """The learner's parts this run trains (none: the kit's own code)."""
    total_steps: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    reset_seed: int | None = None
    """Seed of the next ``env.reset``: the run's seed for its first episode, then None."""
    elapsed_before: float = 0.0
    """Wall seconds spent before this process took the run over (on a resume)."""
    started: float = field(default_factory=time.perf_counter)

    @classmethod
    def start(cls, config: DQNConfig, env: gym.Env, jit_compile: bool = True, lab_code: LabCode = LabCode(),
              notify: Callable[[str], None] | None = None) -> "Run":
        """A fresh run on ``env`` (made from ``config.env_id``); ``lab_code`` (see
        :func:`lunar.run.lab_code.check_lab_code`) replaces the kit's parts it gives."""
        state_size, num_actions = space_sizes(env)
        agent = DQNAgent.from_config(config, state_size, num_actions, **lab_code.agent_parts())
        update = FastUpdate(agent, jit_compile, lab_code.compute_loss is not None, lab_code.agent_learn, notify)
        return cls(config, env, agent, update, ReplayMemory(config.memory_size, state_size),
                   np.random.default_rng(config.seed), config.epsilon_start, lab_code, reset_seed=config.seed)

    @classmethod
    def open(cls, config: DQNConfig, env: gym.Env, checkpoint: Checkpoint | None = None, jit_compile: bool = True,
             lab_code: LabCode = LabCode(), notify: Callable[[str], None] | None = None
             ) -> tuple["Run", Checkpoint | None]:
        """The run to train and the checkpoint it continues: a fresh run when ``checkpoint`` is None, else
        the run of ``checkpoint`` or of the newest older one in its folder whose arrays fit this agent."""
        if checkpoint is None:
            return cls.start(config, env, jit_compile, lab_code, notify), None
        older = valid_checkpoints(checkpoint.path.parent, warn=warn, older_than=len(checkpoint.history))
        reasons = []
        for candidate in itertools.chain([checkpoint], older):
            try:
                return cls.unbundle(config, candidate, env, jit_compile, lab_code, notify), candidate
            except (ValueError, KeyError, TypeError, IndexError) as error:
                reasons.append(str(error))
                warn(f"skipping damaged checkpoint: {candidate.path.name}: its arrays do not fit this agent ({error})")
        raise UserError(f"no checkpoint in {checkpoint.path.parent} fits this agent ({reasons[0]}): "
                        "start a new run in another --output-dir")

    def elapsed(self) -> float:
        """Wall seconds of the whole run, earlier sessions included."""
        return self.elapsed_before + time.perf_counter() - self.started

    def saved_network(self) -> Any:
        """The network saved as the model: the target network if ``config.save_target_network``, else
        the Q-network (the course's ``q_network.save``)."""
        return self.agent.target_q_network if self.config.save_target_network else self.agent.q_network

    def bundle(self) -> Bundle:
        """The run as plain data: every variable of the agent, the replay rows, the history,
        and a JSON manifest of counters, epsilon, configuration and generator states."""
        manifest = {"total_steps": self.total_steps, "epsilon": self.epsilon, "elapsed_seconds": self.elapsed(),
                    "config": self.config.to_dict(),
                    "rng": {"numpy": self.rng.bit_generator.state, "env": get_rng_state(self.env)}}
        if self.lab_code.given():  # a run of a learner's code; a kit run's manifest has no such key
            manifest["lab_code"] = self.lab_code.given()
        return Bundle(manifest, agent_arrays(self.agent), self.memory.state_dict(),
                      pd.DataFrame(self.history, columns=HISTORY_COLUMNS))

    @classmethod
    def unbundle(cls, config: DQNConfig, bundle: Bundle, env: gym.Env, jit_compile: bool = True,
                 lab_code: LabCode = LabCode(), notify: Callable[[str], None] | None = None) -> "Run":
        """Inverse of :meth:`bundle`, run on ``env`` with ``config`` (the bundle's, unless forced otherwise)
        and ``lab_code``, whose networks and optimizer take the bundle's arrays as the kit's would."""
        if set(bundle.replay) != {"rows", "capacity"} or int(bundle.replay["capacity"]) != config.memory_size:
            raise ValueError(f"its replay memory is not one of memory_size {config.memory_size}")
        run = cls.start(config, env, jit_compile, lab_code, notify)
        memory = ReplayMemory.from_state_dict(bundle.replay)
        if memory.state_size != run.memory.state_size:
            raise UserError(f"the checkpoint was made for another environment than {config.env_id}")
        run.memory = memory
        manifest = bundle.manifest
        run.rng.bit_generator.state = manifest["rng"]["numpy"]
        run.env.reset(seed=config.seed)  # creates the environment's generator, then restore its state
        set_rng_state(run.env, manifest["rng"]["env"])
        run.reset_seed = None
        run.epsilon, run.total_steps = float(manifest["epsilon"]), int(manifest["total_steps"])
        run.history = bundle.history.to_dict("records")
        run.elapsed_before, run.started = float(manifest["elapsed_seconds"]), time.perf_counter()
        load_agent_arrays(run.agent, bundle.agent, learners=bool(lab_code.given()))
        return run


def agent_arrays(agent: DQNAgent) -> dict[str, np.ndarray]:
    """Every variable of the agent (both networks and Adam) as named numpy arrays, and under
    ``paths/<group>`` each group's variable paths in that order (so that :func:`load_agent_arrays`
    can check the order)."""
    arrays = {f"{prefix}/{i:03d}": np.asarray(v) for prefix, variables in _agent_variables(agent)
              for i, v in enumerate(variables)}
    paths = {f"paths/{prefix}": np.array([v.path for v in variables]) for prefix, variables in _agent_variables(agent)}
    return {**arrays, **paths}


def load_agent_arrays(agent: DQNAgent, state: dict[str, Any], learners: bool = False) -> None:
    """Inverse of :func:`agent_arrays`; shapes and, where stored, variable paths must match
    (``learners``: the networks are a learner's, whose Keras names are numbered by what the process
    built first, so the numbers are not compared).

    Adam keeps two moment arrays of the same shape per weight: only their paths tell them apart,
    so a Keras release that orders ``optimizer.variables`` differently is refused instead of
    swapping them silently.
    """
    for prefix, variables in _agent_variables(agent):
        keys = sorted(k for k in state if k.startswith(prefix + "/"))
        if len(keys) != len(variables):
            raise ValueError(f"checkpoint has {len(keys)} {prefix} arrays, the agent {len(variables)}")
        if f"paths/{prefix}" in state:
            stored = [str(p) for p in np.asarray(state[f"paths/{prefix}"]).reshape(-1)]
            expected = [v.path for v in variables]
            if learners:
                stored, expected = [_unnumbered(p) for p in stored], [_unnumbered(p) for p in expected]
            _check_paths(prefix, stored, expected)
        for key, v in zip(keys, variables):
            value = np.asarray(state[key])
            if tuple(value.shape) != tuple(v.shape):
                raise ValueError(f"checkpoint array {key} has shape {value.shape}, expected {tuple(v.shape)}")
            v.assign(value)
    agent.refresh_acting_weights()


def _agent_variables(agent: DQNAgent) -> tuple[tuple[str, list[Any]], ...]:
    return (("q", agent.q_network.weights), ("target", agent.target_q_network.weights),
            ("adam", agent.optimizer.variables))


def _unnumbered(path: str) -> str:
    """``sequential_14/dense_36/kernel`` -> ``sequential/dense/kernel`` (Adam's ``..._momentum`` stays)."""
    return re.sub(r"_\d+(?=[/_]|$)", "", path)


def _check_paths(group: str, stored: list[str], expected: list[str]) -> None:
    """``ValueError`` naming the first variable whose stored path differs from the agent's."""
    if stored == expected:
        return
    if len(stored) != len(expected):
        raise ValueError(f"checkpoint lists {len(stored)} {group} variables, the agent has {len(expected)}")
    i, (have, want) = next((i, pair) for i, pair in enumerate(zip(stored, expected)) if pair[0] != pair[1])
    raise ValueError(f"checkpoint {group} variable {i} is {have!r}, this Keras has {want!r} there "
                     "(variables stored in another order): start a new run")


def get_rng_state(env: gym.Env) -> dict:
    """The environment's random-generator state (JSON-serialisable)."""
    return env.unwrapped.np_random.bit_generator.state


def set_rng_state(env: gym.Env, state: dict) -> None:
    """Give the environment a PCG64 generator (Gymnasium's) in ``state``; no other kind is accepted."""
    if not isinstance(state, dict) or state.get("bit_generator") != "PCG64":
        raise ValueError("the environment's generator state is not a PCG64 state")
    generator = np.random.Generator(np.random.PCG64())
    generator.bit_generator.state = state
    env.unwrapped.np_random = generator
