"""All the state of a training run in one value, and its checkpoint form.

:meth:`Run.start` builds a fresh run from a configuration. :meth:`Run.bundle` turns a run
into plain arrays and JSON (what a checkpoint stores) and :meth:`Run.unbundle` rebuilds
it: a run restored from its bundle continues exactly as the original would have.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import gymnasium as gym
import numpy as np
import pandas as pd

from lunar.agent import DQNAgent, LabCode
from lunar.checkpoint import HISTORY_COLUMNS, Bundle
from lunar.config import DQNConfig
from lunar.envs import get_rng_state, make_env, set_rng_state, space_sizes
from lunar.errors import UserError
from lunar.plotting import mean_of_last
from lunar.replay import ReplayMemory

@dataclass
class Run:
    """A training run: the environment, the agent, the replay memory, the one random
    generator the loop draws from, epsilon, the counters and the history so far."""

    config: DQNConfig
    env: gym.Env
    agent: DQNAgent
    memory: ReplayMemory
    rng: np.random.Generator
    epsilon: float
    total_steps: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    reset_seed: int | None = None
    """Seed of the next ``env.reset``: the run's seed for its first episode, then None."""
    elapsed_before: float = 0.0
    """Wall seconds spent before this process took the run over (on a resume)."""
    started: float = field(default_factory=time.perf_counter)

    @classmethod
    def start(cls, config: DQNConfig, jit_compile: bool = True, lab_code: LabCode | None = None,
              notify: Callable[[str], None] | None = None) -> "Run":
        """A fresh run; ``lab_code`` (see :func:`lunar.agent.check_lab_code`) replaces the kit's parts it gives."""
        env = make_env(config.env_id)
        state_size, num_actions = space_sizes(env)
        agent = DQNAgent(state_size, num_actions, alpha=config.alpha, tau=config.tau,
                         hidden_units=config.hidden_units, seed=config.seed, loss=config.loss,
                         double_dqn=config.double_dqn, grad_clip_norm=config.grad_clip_norm,
                         batch_size=config.minibatch_size, jit_compile=jit_compile, lab_code=lab_code,
                         notify=notify)
        return cls(config, env, agent, ReplayMemory(config.memory_size, state_size),
                   np.random.default_rng(config.seed), config.epsilon_start, reset_seed=config.seed)

    def elapsed(self) -> float:
        """Wall seconds of the whole run, earlier sessions included."""
        return self.elapsed_before + time.perf_counter() - self.started

    def saved_network(self) -> Any:
        """The network saved as the model: the target network if ``config.save_target_network``, else
        the Q-network (the course's ``q_network.save``)."""
        return self.agent.target_q_network if self.config.save_target_network else self.agent.q_network

    def average(self) -> float:
        """The course's ``np.mean(total_point_history[-num_p_av:])``."""
        window = self.config.num_p_av
        return mean_of_last([row["return"] for row in self.history[-window:]], window)

    def record(self, episode_return: float, steps: int, losses: list[float], mean_qs: list[float]) -> dict[str, Any]:
        """Append a finished episode's row to the history and return it."""
        row = {"episode": len(self.history) + 1, "return": episode_return, "steps": steps,
               "total_steps": self.total_steps, "epsilon": self.epsilon}
        self.history.append(row)  # before the average, which includes this episode
        row.update({"moving_average": self.average(),
                    "loss": float(np.mean(losses)) if losses else float("nan"),
                    "mean_q": float(np.mean(mean_qs)) if mean_qs else float("nan"),
                    "elapsed_seconds": round(self.elapsed(), 3)})
        return row

    def bundle(self) -> Bundle:
        """The run as plain data: every variable of the agent, the replay rows, the history,
        and a JSON manifest of counters, epsilon, configuration and generator states."""
        manifest = {"total_steps": self.total_steps, "epsilon": self.epsilon, "elapsed_seconds": self.elapsed(),
                    "config": self.config.to_dict(),
                    "rng": {"numpy": self.rng.bit_generator.state, "env": get_rng_state(self.env)}}
        if self.agent.lab_code.given():  # a run of a learner's code; a kit run's manifest has no such key
            manifest["lab_code"] = self.agent.lab_code.given()
        agent = {**self.agent.weights_state(), **self.agent.variable_paths()}
        return Bundle(manifest, agent, self.memory.state_dict(),
                      pd.DataFrame(self.history, columns=HISTORY_COLUMNS))

    @classmethod
    def unbundle(cls, config: DQNConfig, bundle: Bundle, jit_compile: bool = True,
                 lab_code: LabCode | None = None, notify: Callable[[str], None] | None = None) -> "Run":
        """Inverse of :meth:`bundle`, run with ``config`` (the bundle's, unless forced otherwise) and
        ``lab_code``, whose networks and optimizer take the bundle's arrays as the kit's would."""
        if set(bundle.replay) != {"rows", "capacity"} or int(bundle.replay["capacity"]) != config.memory_size:
            raise ValueError(f"its replay memory is not one of memory_size {config.memory_size}")
        run = cls.start(config, jit_compile, lab_code, notify)
        memory = ReplayMemory.from_state_dict(bundle.replay)
        if memory.state_size != run.memory.state_size:
            raise UserError(f"the checkpoint was made for another environment than {config.env_id}")
        run.agent.load_weights_state(bundle.agent)
        run.memory = memory
        manifest = bundle.manifest
        run.rng.bit_generator.state = manifest["rng"]["numpy"]
        run.env.reset(seed=config.seed)  # creates the environment's generator, then restore its state
        set_rng_state(run.env, manifest["rng"]["env"])
        run.reset_seed = None
        run.epsilon, run.total_steps = float(manifest["epsilon"]), int(manifest["total_steps"])
        run.history = bundle.history.to_dict("records")
        run.elapsed_before, run.started = float(manifest["elapsed_seconds"]), time.perf_counter()
        return run
