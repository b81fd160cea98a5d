"""The course's training loop: :func:`run_episode` is one episode of it, :func:`train` the run.

Read :func:`run_episode` next to the lab's "Train the agent" cell: act, step, store, and
every ``NUM_STEPS_FOR_UPDATE`` steps learn (sample, ``agent_learn``, soft update); then
the episode's points, their moving average and the epsilon decay. :func:`train` adds what
a run needs around it: resume (:mod:`lunar.run`), report, checkpoint (:mod:`lunar.outputs`),
and one place that decides when to stop.

What makes it fast is below the loop, not in it: acting is a numpy forward pass, the replay
memory a preallocated array, the update one XLA-compiled call (:mod:`lunar.agent`).
"""

from __future__ import annotations

import itertools
import math
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from lunar import checkpoint as ckpt
from lunar.agent import LabCode, check_lab_code
from lunar.config import DQNConfig, differences
from lunar.envs import make_env, space_sizes
from lunar.errors import OutputError, UserError
from lunar.evaluation import VALIDATION_SEED, evaluate
from lunar.exploration import epsilon_greedy, get_new_eps
from lunar.outputs import RunFolder
from lunar.reporting import Reporter, SilentReporter
from lunar.run import Run


class NumericalError(RuntimeError):
    """The loss or the Q-values became NaN or infinite."""


@dataclass
class TrainResult:
    """What a run did and where it put things."""

    history: pd.DataFrame
    status: str
    """'solved', 'episode_cap', 'step_budget' or 'time_budget' (see :class:`Budget`) or 'interrupted'."""
    total_steps: int
    wall_seconds: float
    cpu_seconds: float
    """This process's CPU time over the run: with TensorFlow on one thread, the work done, which
    (unlike wall time) another process on the next core does not change."""
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
    c, agent, memory, rng = run.config, run.agent, run.memory, run.rng
    state, _ = run.env.reset(seed=run.reset_seed)
    run.reset_seed = None
    episode_return, losses, mean_qs, t = 0.0, [], [], 0
    for t in range(c.max_num_timesteps):
        # act: epsilon-greedy on Q(s, .)
        action = epsilon_greedy(agent.q_values(state), run.epsilon, rng)
        # step
        next_state, reward, terminated, truncated, _ = run.env.step(action)
        run.total_steps += 1
        # store: done is `terminated` alone; a time-limit cut is no terminal state and still bootstraps
        memory.add(state, action, reward, next_state, terminated)
        # learn every NUM_STEPS_FOR_UPDATE steps, once the memory holds more than a mini-batch
        if (t + 1) % c.num_steps_for_update == 0 and len(memory) > c.minibatch_size:
            batches = np.stack([memory.sample_packed(c.minibatch_size, rng) for _ in range(c.gradient_steps)])
            learned = agent.learn(batches, c.gamma)  # agent_learn: Adam step and soft update, per batch
            if not math.isfinite(learned.mean_q) or (learned.loss_known and not math.isfinite(learned.loss)):
                what = f"the loss became {learned.loss}" if learned.loss_known else f"mean Q became {learned.mean_q}"
                raise NumericalError(f"{what} at episode {len(run.history) + 1}, step {t + 1}")
            losses.append(learned.loss)
            mean_qs.append(learned.mean_q)
        state = next_state
        episode_return += float(reward)
        if terminated or truncated or run.total_steps >= max_total_steps:
            break
    row = run.record(episode_return, t + 1, losses, mean_qs)
    run.epsilon = get_new_eps(run.epsilon, c.e_decay, c.e_min)
    return row


@dataclass(frozen=True)
class Budget:
    """Where a run stops short of solving: after ``steps`` environment steps (the last episode is cut
    there) or, between episodes, once this process has spent ``cpu_seconds`` of CPU time since ``start``."""

    steps: float = math.inf
    cpu_seconds: float = math.inf
    start: float = field(default_factory=time.process_time)

    def spent(self, run: Run) -> str | None:
        if run.total_steps >= self.steps:
            return "step_budget"
        return "time_budget" if time.process_time() - self.start >= self.cpu_seconds else None


def stop_reason(run: Run, interrupt: "_Interrupt", budget: Budget,
                message: Callable[[str], None] = lambda text: None) -> str | None:
    """Why the run stops now, or None to play another episode: the one place that decides."""
    if run.history and run.average() >= run.config.target_score and validation_passes(run, message):
        return "solved"
    if len(run.history) >= run.config.num_episodes:
        return "episode_cap"
    return budget.spent(run) or ("interrupted" if interrupt.requested else None)


def validation_score(run: Run, episodes: int) -> float:
    """mean_{i < episodes} G_greedy(reset seed 1,000,000 + i), played by the network the run would
    save: the validation test's score, and lunar-tune's."""
    return float(evaluate(run.saved_network(), run.config.env_id, episodes, VALIDATION_SEED).returns.mean())


def validation_passes(run: Run, message: Callable[[str], None]) -> bool:
    """The optional second stopping test, for a run whose moving average is at ``target_score``:
    :func:`validation_score` over ``validation_episodes`` episodes >= ``validation_target``.

    It is taken on the episode where the average reaches the target and every ``validation_every``
    episodes after; in between it fails. It reads no random state, so a run's history is the same
    with and without it until it stops.
    """
    c = run.config
    if c.validation_episodes == 0:
        return True
    episode = len(run.history)
    reached_now = episode == 1 or run.history[-2]["moving_average"] < c.target_score
    if not (reached_now or episode % c.validation_every == 0):
        return False
    score = validation_score(run, c.validation_episodes)
    passed = score >= c.validation_target
    message(f"episode {episode}: greedy validation {score:.1f} on {c.validation_episodes} episodes "
            f"({'>=' if passed else '<'} {c.validation_target:g}): {'solved' if passed else 'training on'}")
    return passed


def train(config: DQNConfig | None = None, output_dir: str | Path = "models", *,
          resume: bool | ckpt.Checkpoint = False, force: bool = False, checkpoint_every: int = 50,
          reporter: Reporter | None = None, save_outputs: bool = True, max_total_steps: int | None = None,
          max_cpu_seconds: float | None = None, jit_compile: bool = True, tensorboard: str | Path | None = None,
          compute_loss: Callable[..., Any] | None = None, q_network: Any = None, target_q_network: Any = None,
          optimizer: Any = None, agent_learn: Callable[..., Any] | None = None, **overrides: Any) -> TrainResult:
    """Train a DQN until the moving average of ``num_p_av`` returns reaches ``target_score`` (and,
    when ``validation_episodes`` is set, the greedy validation test of :func:`validation_passes`).

    ``config`` defaults to the course's hyperparameters; keyword ``overrides`` replace any
    :class:`DQNConfig` field (``env_id="CartPole-v1"``, ``num_episodes=3``, ``gamma=0.99``).
    Writes to ``output_dir`` what :mod:`lunar.outputs` lists (nothing with ``save_outputs=False``).
    ``resume=True`` continues the run from its newest valid checkpoint (or from a
    :class:`lunar.checkpoint.Checkpoint` already read); other hyperparameters than the
    checkpoint's are refused unless ``force``. ``max_total_steps`` stops after that many environment
    steps, ``max_cpu_seconds`` after that much CPU time (benchmarks, lunar-tune); ``tensorboard`` is a
    folder for TensorBoard scalars.
    SIGINT or SIGTERM ends the run after the current episode, with a checkpoint.

    ``compute_loss``, ``q_network`` + ``target_q_network``, ``optimizer`` and ``agent_learn`` train a
    learner's own lab code (any subset; the rest is the kit's) in this loop, see :class:`lunar.agent.LabCode`.
    """
    if config is not None and not isinstance(config, DQNConfig):
        raise UserError(f"config must be a DQNConfig (lunar.DQNConfig(...) or lunar.config.load_toml(path)), "
                        f"got {type(config).__name__}")
    config = (config or DQNConfig()).replace(**overrides)
    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int) or checkpoint_every <= 0:
        raise UserError(f"checkpoint_every must be a positive integer, got {checkpoint_every!r}")
    reporter = reporter or SilentReporter()
    lab_code = LabCode(compute_loss, q_network, target_q_network, optimizer, agent_learn)
    if tensorboard is not None:
        from lunar.tensorboard import TensorBoardReporter, check_folder
        check_folder(tensorboard)
    env = make_env(config.env_id)  # an unusable environment, or lab code that does not fit it, is refused
    check_lab_code(lab_code, *space_sizes(env))  # before the folder is touched
    env.close()
    budget = Budget(math.inf if max_total_steps is None else max_total_steps,
                    math.inf if max_cpu_seconds is None else max_cpu_seconds)
    folder = RunFolder(output_dir, config.env_id, enabled=save_outputs)  # locks the folder
    try:
        if tensorboard is not None:
            reporter = TensorBoardReporter(tensorboard, reporter)
        checkpoint = _checkpoint_to_resume(resume, folder, config, force, lab_code)
        configure_tensorflow()
        if lab_code.given():
            reporter.message(f"training your {', '.join(lab_code.given())} in the kit's loop")
        run, checkpoint = _start_run(config, checkpoint, jit_compile, folder, lab_code, reporter.message)
        if checkpoint is not None:
            reporter.message(f"Resumed from {checkpoint.path} at episode {len(checkpoint.history)}")
        return _train_run(run, folder, reporter, checkpoint.path if checkpoint else None, checkpoint_every, budget)
    finally:
        folder.close()


def _train_run(run: Run, folder: RunFolder, reporter: Reporter, resumed_from: Path | None, checkpoint_every: int,
               budget: Budget) -> TrainResult:
    """The episodes of a started run, with its reports and files, until :func:`stop_reason` says stop."""
    try:
        folder.begin(run, resumed_from, reporter.message, checkpoint_every)
        reporter.start(run.config, len(run.history))
        with _Interrupt() as interrupt:
            status = stop_reason(run, interrupt, budget, reporter.message)
            while status is None:
                reporter.episode(run_episode(run, budget.steps))
                status = stop_reason(run, interrupt, budget, reporter.message)
                if status is None and len(run.history) % checkpoint_every == 0:
                    folder.checkpoint(run)
        wall, cpu = run.elapsed() - run.elapsed_before, time.process_time() - budget.start
        paths = folder.finish(run, status)
    except NumericalError as error:
        raise NumericalError(f"{error}; {folder.last_good()}") from None
    except OSError as error:
        raise OutputError(f"could not write {error.filename or 'an output file'}: {error.strerror or error}; "
                          f"{folder.last_good()}") from None
    finally:
        reporter.stop()
        run.env.close()
    history = pd.DataFrame(run.history, columns=ckpt.HISTORY_COLUMNS)
    return TrainResult(history, status, run.total_steps, wall, cpu, paths)


SHAPE_FIELDS = ("env_id", "hidden_units", "memory_size")
"""Settings a resumed run cannot change, even with ``force``: they fix the arrays' shapes."""


def _checkpoint_to_resume(resume: bool | ckpt.Checkpoint, folder: RunFolder, config: DQNConfig, force: bool,
                          lab_code: LabCode) -> ckpt.Checkpoint | None:
    if resume is False:
        return None
    found = resume if isinstance(resume, ckpt.Checkpoint) else ckpt.latest_valid(
        folder.paths["checkpoints"], warn=warn)
    if found is None:
        raise UserError(f"no valid checkpoint to resume in {folder.paths['checkpoints']}")
    made_by = found.manifest.get("lab_code", [])
    if made_by != lab_code.given():
        def whose(parts: list[str]) -> str:
            return f"your {', '.join(parts)}" if parts else "the kit's own code"
        raise UserError(f"the checkpoint trained {whose(made_by)}, this run gives {whose(lab_code.given())}: "
                        "resume it with the same code (--notebook, or the same arguments to train())")
    changed = differences(found.manifest["config"], config)
    fixed = [change for change in changed if change.split(":")[0] in SHAPE_FIELDS]
    if fixed:
        raise UserError("cannot resume with another " + "; ".join(fixed) + " (the checkpoint's networks and "
                        "replay memory have its shapes): start a new run in another --output-dir")
    if changed and not force:
        raise UserError("the checkpoint was made with other hyperparameters (" + "; ".join(changed)
                        + "); pass --force to resume anyway")
    return found


def _start_run(config: DQNConfig, checkpoint: ckpt.Checkpoint | None, jit_compile: bool, folder: RunFolder,
               lab_code: LabCode, notify: Callable[[str], None]) -> tuple[Run, ckpt.Checkpoint | None]:
    """A new run, or the run of the newest checkpoint whose arrays fit this agent (a forged or
    foreign one is skipped like a damaged one), and the checkpoint it came from."""
    if checkpoint is None:
        return Run.start(config, jit_compile, lab_code if lab_code.given() else None, notify), None
    episode = len(checkpoint.history)
    older = ckpt.valid_checkpoints(folder.paths["checkpoints"], warn=warn, older_than=episode)
    reasons = []
    for candidate in itertools.chain([checkpoint], older):
        try:
            return Run.unbundle(config, candidate, jit_compile, lab_code if lab_code.given() else None,
                                notify), candidate
        except (ValueError, KeyError, TypeError, IndexError) as error:
            reasons.append(str(error))
            warn(f"skipping damaged checkpoint: {candidate.path.name}: its arrays do not fit this agent ({error})")
    raise UserError(f"no checkpoint in {folder.paths['checkpoints']} fits this agent ({reasons[0]}): "
                    "start a new run in another --output-dir")


def warn(text: str) -> None:
    """A warning about the user's files: on stderr, even when the run is quiet."""
    print(text, file=sys.stderr, flush=True)


def configure_tensorflow(deterministic: bool = True) -> None:
    """Deterministic ops (same seed, same CPU run)."""
    import tensorflow as tf
    if deterministic:
        tf.config.experimental.enable_op_determinism()


class _Interrupt:
    """Turns SIGINT/SIGTERM into a request to stop after the current episode; a second
    signal raises KeyboardInterrupt at once (the last checkpoint is still on disk)."""

    def __init__(self) -> None:
        self.requested: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "_Interrupt":
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        except ValueError:  # not the main thread: signals stay as they are
            self._previous.clear()
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested is not None:
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
