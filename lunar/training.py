"""The course's training loop: :func:`run_episode` is one episode of it, :func:`train` the run.

Read :func:`run_episode` next to the lab's "Train the agent" cell: act, step, store, and
every ``NUM_STEPS_FOR_UPDATE`` steps learn (sample, ``agent_learn``, soft update); then
the episode's points, their moving average and the epsilon decay. :func:`train` adds what
a run needs around it (:mod:`lunar.run`): resume, report, checkpoint, and one place that
decides when to stop.

What makes it fast is below the loop, not in it: acting is a numpy forward pass
(:meth:`lunar.agent.DQNAgent.act`), the replay memory a preallocated array, and the
``agent_learn`` calls of a learning step one compiled call (:mod:`lunar.fast_update`).
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from lunar.agent import get_new_eps
from lunar.config import DQNConfig
from lunar.envs import make_env, space_sizes
from lunar.errors import OutputError, UserError
from lunar.reports.console import Reporter, SilentReporter
from lunar.reports.plotting import mean_of_last
from lunar.run import checkpoint as ckpt
from lunar.run import lock
from lunar.run.atomic import check_writable
from lunar.run.lab_code import LabCode, check_lab_code
from lunar.run.outputs import RunFolder, check_output_dir
from lunar.run.resume import read_checkpoint, require_checkpoints
from lunar.run.state import Run
from lunar.run.stopping import Budget, StopRequest, stop_reason
from lunar.run.tfsetup import enable_determinism


class NumericalError(RuntimeError):
    """The loss or the Q-values became NaN or infinite."""


@dataclass
class TrainResult:
    """What a run did and where it put things."""

    history: pd.DataFrame
    status: str
    """'solved', 'episode_cap', 'step_budget' or 'time_budget' (see :class:`lunar.run.stopping.Budget`) or 'interrupted'."""
    total_steps: int
    wall_seconds: float
    cpu_seconds: float
    """This process's CPU time over the run: with TensorFlow on one thread, the work done, which
    (unlike wall time) another process on the next core does not change."""
    config: DQNConfig | None = None
    """The hyperparameters it ran with (a resumed run's are the checkpoint's, but for those given)."""
    paths: dict[str, Path] = field(default_factory=dict)

    @property
    def solved(self) -> bool:
        return self.status == "solved"

    @property
    def episodes(self) -> int:
        return len(self.history)


def run_episode(run: Run, max_total_steps: float = math.inf) -> dict[str, Any]:
    """One episode of the course's loop; appends its row to ``run.history`` and returns it.

    ``max_total_steps`` cuts the episode short once the run has taken that many steps
    (benchmarks). Raises :class:`NumericalError` when an update's loss is not finite.
    """
    c, memory, rng = run.config, run.memory, run.rng
    state, _ = run.env.reset(seed=run.reset_seed)
    run.reset_seed = None
    episode_return, losses, mean_qs, t = 0.0, [], [], 0
    for t in range(c.max_num_timesteps):
        # act: epsilon-greedy on Q(s, .)
        action = run.agent.act(state, run.epsilon, rng)
        # step
        next_state, reward, terminated, truncated, _ = run.env.step(action)
        run.total_steps += 1
        # store: done is `terminated` alone; a time-limit cut is no terminal state and still bootstraps
        memory.add(state, action, reward, next_state, terminated)
        # learn every NUM_STEPS_FOR_UPDATE steps, once the memory holds more than a mini-batch
        if (t + 1) % c.num_steps_for_update == 0 and len(memory) > c.minibatch_size:
            batches = np.stack([memory.sample_packed(c.minibatch_size, rng) for _ in range(c.gradient_steps)])
            learned = run.update.learn(batches, c.gamma)  # agent_learn on each mini-batch: Adam step, soft update
            if not math.isfinite(learned.mean_q) or (learned.loss_known and not math.isfinite(learned.loss)):
                what = f"the loss became {learned.loss}" if learned.loss_known else f"mean Q became {learned.mean_q}"
                raise NumericalError(f"{what} at episode {len(run.history) + 1}, step {t + 1}")
            losses.append(learned.loss)
            mean_qs.append(learned.mean_q)
        state = next_state
        episode_return += float(reward)
        if terminated or truncated or run.total_steps >= max_total_steps:
            break
    # the episode's points and their moving average, the course's np.mean(total_point_history[-num_p_av:])
    row = {"episode": len(run.history) + 1, "return": episode_return, "steps": t + 1,
           "total_steps": run.total_steps, "epsilon": run.epsilon}
    run.history.append(row)
    row.update({"moving_average": mean_of_last([r["return"] for r in run.history[-c.num_p_av:]], c.num_p_av),
                "loss": float(np.mean(losses)) if losses else float("nan"),
                "mean_q": float(np.mean(mean_qs)) if mean_qs else float("nan"),
                "elapsed_seconds": round(run.elapsed(), 3)})
    run.epsilon = get_new_eps(run.epsilon, c.e_decay, c.e_min)
    return row


def train(config: DQNConfig | None = None, output_dir: str | Path = "models", *,
          resume: bool | ckpt.Checkpoint = False, force: bool = False, checkpoint_every: int | None = None,
          reporter: Reporter | None = None, save_outputs: bool = True, max_total_steps: int | None = None,
          max_cpu_seconds: float | None = None, jit_compile: bool = True, tensorboard: str | Path | None = None,
          compute_loss: Callable[..., Any] | None = None, q_network: Any = None, target_q_network: Any = None,
          optimizer: Any = None, agent_learn: Callable[..., Any] | None = None, lab_code: LabCode | None = None,
          **overrides: Any) -> TrainResult:
    """Train a DQN until the moving average of ``num_p_av`` returns reaches ``target_score`` (and, when
    ``validation_episodes`` is set, the greedy validation test of :func:`lunar.run.stopping.take_validation_test`).

    ``config`` defaults to the course's hyperparameters; keyword ``overrides`` replace any
    :class:`DQNConfig` field (``env_id="CartPole-v1"``, ``num_episodes=3``, ``gamma=0.99``).
    Writes to ``output_dir`` what :mod:`lunar.run.outputs` lists (nothing with ``save_outputs=False``).
    ``resume=True`` continues the run from its newest valid checkpoint (or from a
    :class:`lunar.run.checkpoint.Checkpoint` already read) with the checkpoint's hyperparameters, which
    ``config`` and ``overrides`` replace; other values than the checkpoint's are refused unless
    ``force`` (:mod:`lunar.run.resume`). ``checkpoint_every`` defaults to 50, or the resumed run's.
    ``max_total_steps`` stops after that many environment steps, ``max_cpu_seconds`` after that much
    CPU time (benchmarks, lunar-tune); ``tensorboard`` is a folder for TensorBoard scalars.
    SIGINT or SIGTERM ends the run after the current episode, with a checkpoint.

    ``compute_loss``, ``q_network`` + ``target_q_network``, ``optimizer`` and ``agent_learn`` train a
    learner's own lab code (any subset; the rest is the kit's) in this loop, or ``lab_code`` holds them in one
    value (:class:`lunar.run.lab_code.LabCode`).
    """
    if config is not None and not isinstance(config, DQNConfig):
        raise UserError(f"config must be a DQNConfig (lunar.DQNConfig(...) or lunar.config.load_toml(path)), "
                        f"got {type(config).__name__}")
    if checkpoint_every is not None and (isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int)
                                         or checkpoint_every <= 0):
        raise UserError(f"checkpoint_every must be a positive integer, got {checkpoint_every!r}")
    output_dir = check_output_dir(output_dir)  # a path, before a resume looks inside it
    parts = LabCode(compute_loss, q_network, target_q_network, optimizer, agent_learn)
    if lab_code is not None and parts.given():
        raise UserError("give the learner's parts either as lab_code or as keyword arguments, not both")
    lab_code = lab_code or parts
    if tensorboard is not None:
        check_writable(tensorboard)
    budget = Budget(math.inf if max_total_steps is None else max_total_steps,
                    math.inf if max_cpu_seconds is None else max_cpu_seconds)
    checkpoint = resume if isinstance(resume, ckpt.Checkpoint) else None
    with contextlib.ExitStack() as stack:
        if resume is not False:  # a resume reads its checkpoint under the folder's one lock
            if resume is True:
                require_checkpoints(output_dir)
            stack.enter_context(lock.held(output_dir, save_outputs))
            checkpoint, config = read_checkpoint(output_dir, checkpoint, config, overrides, force, lab_code)
        else:
            config = (config or DQNConfig()).replace(**overrides)
        env = make_env(config.env_id)  # the run's one environment
        stack.callback(env.close)
        check_lab_code(lab_code, *space_sizes(env))
        folder = RunFolder(output_dir, config, enabled=save_outputs)
        if resume is False:  # a fresh run locks the folder once all is checked: bad input touches nothing
            stack.enter_context(lock.held(output_dir, save_outputs))
        reporter = _reporter(reporter, tensorboard, lab_code)
        enable_determinism()
        run, checkpoint = Run.open(config, env, checkpoint, jit_compile, lab_code, reporter.message)
        every = checkpoint_every or (checkpoint.manifest.get("checkpoint_every") if checkpoint else None) or 50
        return _train_run(run, folder, reporter, checkpoint.path if checkpoint else None, every, budget)


def _reporter(reporter: Reporter | None, tensorboard: str | Path | None, lab_code: LabCode) -> Reporter:
    """The run's reporter (silent by default), writing TensorBoard scalars too when asked; it says
    whose code trains when it is a learner's."""
    reporter = reporter or SilentReporter()
    if tensorboard is not None:
        from lunar.reports.tensorboard import TensorBoardReporter
        reporter = TensorBoardReporter(tensorboard, reporter)
    for note in lab_code.notes:
        reporter.message(note)
    if lab_code.given():
        reporter.message(f"training your {', '.join(lab_code.given())} in the kit's loop")
    return reporter


def _train_run(run: Run, folder: RunFolder, reporter: Reporter, resumed_from: Path | None, checkpoint_every: int,
               budget: Budget) -> TrainResult:
    """The episodes of a started run, with its reports and files, until :func:`stop_reason` says stop."""
    try:
        folder.begin(run, resumed_from, reporter.message, checkpoint_every)
        reporter.start(run.config, len(run.history))
        if resumed_from is not None:
            reporter.message(f"Resumed from {resumed_from} at episode {len(run.history)}")
        with StopRequest() as interrupt:
            first = len(run.history)
            while (status := stop_reason(run, interrupt, budget, reporter.message)) is None:
                if len(run.history) > first and len(run.history) % checkpoint_every == 0:
                    folder.checkpoint(run)  # every checkpoint_every episodes, but the last (finish writes it)
                reporter.episode(run_episode(run, budget.steps))
        wall, cpu = run.elapsed() - run.elapsed_before, time.process_time() - budget.start
        paths = folder.finish(run, status)
    except NumericalError as error:
        raise NumericalError(f"{error}; {folder.last_good()}") from None
    except OSError as error:
        raise OutputError(f"could not write {error.filename or 'an output file'}: {error.strerror or error}; "
                          f"{folder.last_good()}") from None
    finally:
        reporter.stop()
    history = pd.DataFrame(run.history, columns=ckpt.HISTORY_COLUMNS)
    return TrainResult(history, status, run.total_steps, wall, cpu, run.config, paths)
