"""The DQN training loop, as an importable ``train(config)``.

It reads top to bottom as the course's loop: act, step, store, learn (every
``NUM_STEPS_FOR_UPDATE`` steps: sample, ``agent_learn``, soft update), log, and,
with ``eval_every``, select (score the network on validation episodes). The
difference is speed: acting uses a numpy copy of the Q-network, the replay memory
is a preallocated array, and the update is one XLA-compiled call.

Nothing is lost on interruption: checkpoints (see :mod:`lunar.checkpoint`) are
written every ``checkpoint_every`` episodes and when SIGINT or SIGTERM arrives (the
current episode is finished first, a fraction of a second), and every output file
is written atomically. A checkpoint is taken at an episode boundary, so a resumed
run replays exactly what the uninterrupted run would have done.
"""

from __future__ import annotations

import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np
import pandas as pd

from lunar import checkpoint as ckpt
from lunar.agent import DQNAgent
from lunar.atomic import check_writable, write_text, write_with
from lunar.config import SHORT_NAMES, DQNConfig, differences, to_toml
from lunar.envs import get_rng_state, make_env, model_stem, set_rng_state, space_sizes
from lunar.errors import UserError
from lunar.evaluation import validation_score
from lunar.exploration import EzGreedy, epsilon_greedy, get_new_eps, linear_epsilon
from lunar.networks import numpy_weights
from lunar.plotting import save_learning_curve
from lunar.replay import NStepTransitions, ReplayMemory

HISTORY_COLUMNS = ["episode", "return", "steps", "total_steps", "epsilon", "average_100", "loss", "mean_q",
                   "eval_score", "elapsed_seconds"]
"""Columns of the history CSV. ``average_100`` is the moving average over ``num_p_av``
episodes; ``eval_score`` the validation score where model selection evaluated (see
``DQNConfig.eval_every``); every column but ``elapsed_seconds`` (wall clock) is
repeatable with a seed."""


class NumericalError(RuntimeError):
    """The loss or the weights became NaN or infinite."""


class Reporter(Protocol):
    def start(self, config: DQNConfig, first_episode: int) -> None: ...
    def episode(self, row: dict[str, Any]) -> None: ...
    def message(self, text: str) -> None: ...
    def stop(self) -> None: ...


class SilentReporter:
    def start(self, config: DQNConfig, first_episode: int) -> None: ...
    def episode(self, row: dict[str, Any]) -> None: ...
    def message(self, text: str) -> None: ...
    def stop(self) -> None: ...


@dataclass
class TrainResult:
    """What a run did and where it put things."""

    history: pd.DataFrame
    status: str
    """'solved', 'episode_cap' or 'interrupted'."""
    total_steps: int
    wall_seconds: float
    paths: dict[str, Path] = field(default_factory=dict)

    @property
    def solved(self) -> bool:
        return self.status == "solved"

    @property
    def episodes(self) -> int:
        return len(self.history)


class _StopFlag:
    """Turns SIGINT/SIGTERM into a request to stop after the current episode; a second
    signal raises KeyboardInterrupt at once (the last checkpoint is still on disk)."""

    def __init__(self) -> None:
        self.requested: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "_StopFlag":
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


def output_paths(output_dir: str | Path, env_id: str) -> dict[str, Path]:
    out = Path(output_dir)
    stem = model_stem(env_id)
    return {
        "model": out / f"{stem}_model.h5",
        "history": out / f"{stem}_history.csv",
        "plot": out / f"{stem}_history.png",
        "config": out / f"{stem}_config.toml",
        "checkpoints": out / "checkpoints",
    }


def configure_tensorflow(deterministic: bool = True) -> None:
    """Deterministic ops (same seed, same CPU run)."""
    import tensorflow as tf
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def train(config: DQNConfig | None = None, output_dir: str | Path = "models", *, resume: bool = False,
          force: bool = False, checkpoint_every: int = 50, reporter: Reporter | None = None,
          save_outputs: bool = True, max_total_steps: int | None = None, jit_compile: bool = True,
          tensorboard: str | Path | None = None, learn_hook: Callable[[float], float] | None = None,
          **options: Any) -> TrainResult:
    """Train a DQN until the moving average reaches ``target_score``.

    ``config`` defaults to the course's hyperparameters; keyword ``options`` override
    it with the command line's names (``env="CartPole-v1"``, ``episodes=3``, ``seed=1``,
    ``target_score=...``) or any :class:`DQNConfig` field (``gamma=0.99``).

    Writes (atomically) to ``output_dir``: the model ``<stem>_model.h5`` when solved,
    the history CSV and learning-curve PNG, the resolved configuration as TOML, and
    checkpoints under ``checkpoints/``. ``resume=True`` continues from the newest
    valid checkpoint; a configuration that differs from the checkpoint's is refused
    unless ``force``. ``max_total_steps`` stops after that many environment steps
    (for benchmarks). ``tensorboard`` is a log folder for TensorBoard scalars.
    ``learn_hook(loss) -> loss`` sees every update's loss (tests use it to inject a fault).

    Returns a :class:`TrainResult`: ``history`` (a DataFrame, one row per episode),
    ``status``, ``paths`` of the files written.
    """
    config = config_with_options(config or DQNConfig(), options)
    if tensorboard is not None:
        from lunar.tensorboard import TensorBoardReporter
        reporter = TensorBoardReporter(tensorboard, reporter)
    reporter = reporter or SilentReporter()
    out = Path(output_dir)
    paths = output_paths(out, config.env_id)
    check_writable(out)
    if checkpoint_every <= 0:
        raise UserError(f"checkpoint_every must be a positive integer, got {checkpoint_every}")

    resumed = None
    if resume:
        resumed = ckpt.latest_valid(paths["checkpoints"], warn=reporter.message)
        if resumed is None:
            raise UserError(f"no valid checkpoint to resume in {paths['checkpoints']}")
        changed = differences(resumed.manifest["config"], config)
        if changed and not force:
            raise UserError("the checkpoint was made with other hyperparameters ("
                            + "; ".join(changed) + "); pass --force to resume anyway")

    env = make_env(config.env_id)
    state_size, num_actions = space_sizes(env)
    configure_tensorflow()
    agent = DQNAgent(state_size, num_actions, alpha=config.alpha, tau=config.tau,
                     hidden_units=config.hidden_units, seed=config.seed, loss=config.loss,
                     double_dqn=config.double_dqn, grad_clip_norm=config.grad_clip_norm,
                     batch_size=config.minibatch_size, jit_compile=jit_compile)
    memory = ReplayMemory(config.memory_size, state_size)
    rng = np.random.default_rng(config.seed)
    py_random = random.Random(config.seed)  # not drawn from by the loop; saved for completeness
    epsilon = config.epsilon_start
    total_steps = 0
    rows: list[dict[str, Any]] = []
    first_reset_seed: int | None = config.seed
    elapsed_before = 0.0

    if resumed is not None:
        m = resumed.manifest
        agent.load_weights_state(resumed.agent)
        memory = ReplayMemory.from_state_dict(resumed.replay)
        if memory.state_size != state_size:
            raise UserError(f"checkpoint {resumed.path} was made for another environment")
        rng.bit_generator.state = m["rng"]["numpy"]
        py_random.setstate(_tuple_state(m["rng"]["python"]))
        env.reset(seed=config.seed)  # creates the generator, then restore its saved state
        set_rng_state(env, m["rng"]["env"])
        first_reset_seed = None
        epsilon = float(m["epsilon"])
        total_steps = int(m["total_steps"])
        rows = resumed.history.to_dict("records")
        elapsed_before = float(m.get("elapsed_seconds", 0.0))
        reporter.message(f"Resumed from {resumed.path} at episode {len(rows)}")

    gamma = config.gamma
    explore = (EzGreedy(config.ez_greedy_mu, config.max_num_timesteps) if config.ez_greedy_mu
               else epsilon_greedy)
    n_step = NStepTransitions(config.n_step, gamma)
    bootstrap_gamma = gamma ** config.n_step  # the discount of max_a' Q(s', a') in a stored target
    returns = [float(r["return"]) for r in rows]
    status = "episode_cap"
    start_time = time.perf_counter()
    last_checkpoint: Path | None = resumed.path if resumed is not None else None

    # A fresh run in a folder that holds an earlier run's checkpoints replaces them, but
    # only once its own first checkpoint is safely on disk.
    replace_earlier_run = resumed is None and bool(ckpt.list_checkpoints(paths["checkpoints"]))
    if replace_earlier_run and save_outputs:
        reporter.message(f"note: {paths['checkpoints']} holds an earlier run's checkpoints; this new run "
                         f"replaces them at its first checkpoint (to continue that run instead: "
                         f"--resume {out})")

    # Model selection (eval_every > 0): the best validated weights of the network to be saved.
    saved_network = agent.target_q_network if config.save_target_network else agent.q_network
    eval_env = make_env(config.env_id) if config.eval_every else None
    best: dict[str, Any] = {"score": -np.inf, "episode": 0, "weights": None}
    if resumed is not None and "best" in resumed.manifest:
        keys = sorted(k for k in resumed.agent if k.startswith("best/"))
        best = {**resumed.manifest["best"], "weights": [np.asarray(resumed.agent[k]) for k in keys]}

    def elapsed() -> float:
        return elapsed_before + time.perf_counter() - start_time

    def save_checkpoint() -> Path:
        manifest = {
            "total_steps": total_steps, "epsilon": epsilon, "elapsed_seconds": elapsed(),
            "config": config.to_dict(),
            "rng": {"numpy": rng.bit_generator.state, "python": py_random.getstate(),
                    "env": get_rng_state(env), "tensorflow": "unused: no TensorFlow random op runs after "
                    "the seeded initialisation"},
        }
        arrays = agent.weights_state()
        if best["weights"] is not None:
            manifest["best"] = {"score": best["score"], "episode": best["episode"]}
            arrays.update({f"best/{i:03d}": w for i, w in enumerate(best["weights"])})
        nonlocal replace_earlier_run
        saved = ckpt.save(paths["checkpoints"], len(rows), manifest, arrays,
                          memory.state_dict(), pd.DataFrame(rows, columns=HISTORY_COLUMNS),
                          replace_others=replace_earlier_run)
        replace_earlier_run = False
        return saved

    def write_outputs() -> None:
        history = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
        write_text(paths["history"], history.to_csv(index=False))
        if rows:
            save_learning_curve(history, paths["plot"], window=config.num_p_av, target=config.target_score,
                                title=f"DQN on {config.env_id}")

    if save_outputs:
        write_text(paths["config"], to_toml(config))
    reporter.start(config, len(rows))
    try:
        with _StopFlag() as stop:
            for episode in range(len(rows), config.num_episodes):
                if len(returns) and np.mean(returns[-config.num_p_av:]) >= config.target_score:
                    status = "solved"  # resumed from a checkpoint of a solved run
                    break
                state, _ = env.reset(seed=first_reset_seed)
                n_step.clear()
                if isinstance(explore, EzGreedy):
                    explore.reset()
                first_reset_seed = None
                episode_return = 0.0
                losses: list[float] = []
                mean_qs: list[float] = []
                episode_epsilon = epsilon
                t = 0
                for t in range(config.max_num_timesteps):
                    # --- act: epsilon-greedy (or ez-greedy) on a numpy forward pass ---
                    if config.epsilon_decay_steps:
                        epsilon = linear_epsilon(total_steps, config.epsilon_decay_steps,
                                                 config.epsilon_start, config.e_min)
                    action = explore(agent.q_values(state), epsilon, rng)

                    # --- step ---
                    next_state, reward, terminated, truncated, _ = env.step(action)
                    total_steps += 1

                    # --- store: done is `terminated` alone, a time-limit cut still bootstraps ---
                    # (with n_step > 1 the n-step transitions that are complete; see NStepTransitions)
                    for transition in n_step.push(state, action, reward, next_state, terminated, truncated):
                        memory.add(*transition)

                    # --- learn: every NUM_STEPS_FOR_UPDATE steps, sample and update (incl. soft update) ---
                    if ((t + 1) % config.num_steps_for_update == 0 and len(memory) > config.minibatch_size
                            and len(memory) >= config.learning_starts):
                        # GRADIENT_STEPS updates (the course: one) in one compiled call
                        batches = np.stack([memory.sample_packed(config.minibatch_size, rng)
                                            for _ in range(config.gradient_steps)])
                        loss, mean_q = agent.learn_many(batches, bootstrap_gamma)
                        if learn_hook is not None:
                            loss = learn_hook(loss)
                        if not np.isfinite(loss) or not np.isfinite(mean_q):
                            raise NumericalError(
                                f"the loss became {loss} at episode {episode + 1}, step {t + 1}; the last "
                                f"good checkpoint is {last_checkpoint or 'none (none was written yet)'}")
                        losses.append(loss)
                        mean_qs.append(mean_q)

                    state = next_state
                    episode_return += float(reward)
                    if terminated or truncated or (max_total_steps is not None and total_steps >= max_total_steps):
                        break

                if not agent.all_finite():
                    raise NumericalError(f"the Q-network weights became NaN or infinite at episode {episode + 1}; "
                                         f"the last good checkpoint is {last_checkpoint or 'none'}")

                # --- log ---
                returns.append(episode_return)
                average = float(np.mean(returns[-config.num_p_av:]))
                row = {"episode": episode + 1, "return": episode_return, "steps": t + 1, "total_steps": total_steps,
                       "epsilon": episode_epsilon, "average_100": average,
                       "loss": float(np.mean(losses)) if losses else float("nan"),
                       "mean_q": float(np.mean(mean_qs)) if mean_qs else float("nan"),
                       "eval_score": float("nan"), "elapsed_seconds": 0.0}

                # --- select: score the network to be saved on validation episodes, keep the best ---
                solved = average >= config.target_score
                if eval_env is not None and ((episode + 1) % config.eval_every == 0 or solved):
                    weights = numpy_weights(saved_network)
                    row["eval_score"] = validation_score(weights, eval_env, config.eval_episodes)
                    if row["eval_score"] > best["score"]:
                        best = {"score": row["eval_score"], "episode": episode + 1, "weights": weights}
                row["elapsed_seconds"] = round(elapsed(), 3)
                rows.append(row)
                reporter.episode(row)

                # --- decay epsilon (the course's per-episode schedule) ---
                if not config.epsilon_decay_steps:
                    epsilon = get_new_eps(epsilon, config.e_decay, config.e_min)

                if solved:
                    status = "solved"
                    break
                if max_total_steps is not None and total_steps >= max_total_steps:
                    break
                if stop.requested:
                    status = "interrupted"
                    break
                if save_outputs and (episode + 1) % checkpoint_every == 0:
                    last_checkpoint = save_checkpoint()
                    write_outputs()

        wall = time.perf_counter() - start_time
        result_paths: dict[str, Path] = {}
        if save_outputs:
            last_checkpoint = save_checkpoint()
            write_outputs()
            result_paths = {k: paths[k] for k in ("history", "plot", "config") if paths[k].exists()}
            result_paths["checkpoint"] = last_checkpoint
            if status == "solved":
                save_h5(_with_weights(saved_network, best["weights"]), paths["model"])
                result_paths["model"] = paths["model"]
                if best["weights"] is not None:
                    reporter.message(f"Saved the network of episode {best['episode']}, the best on validation "
                                     f"(mean {best['score']:.1f} over {config.eval_episodes} greedy episodes)")
    finally:
        reporter.stop()
        env.close()
        if eval_env is not None:
            eval_env.close()
    history = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    return TrainResult(history=history, status=status, total_steps=total_steps, wall_seconds=wall,
                       paths=result_paths)


def config_with_options(config: DQNConfig, options: dict[str, Any]) -> DQNConfig:
    """``config`` with keyword overrides, given by command-line name or field name."""
    from dataclasses import fields

    known = {f.name for f in fields(DQNConfig)}
    field_of = {short: name for name, short in SHORT_NAMES.items()}
    changes = {}
    for key, value in options.items():
        name = field_of.get(key, key)
        if name not in known:
            raise TypeError(f"train() got an unexpected keyword argument {key!r}")
        changes[name] = value
    return config.replace(**changes) if changes else config


def _with_weights(model: Any, weights: list[np.ndarray] | None) -> Any:
    """``model`` itself, or a copy of it carrying ``weights``."""
    if weights is None:
        return model
    import keras

    copy = keras.models.clone_model(model)
    copy.set_weights(weights)
    return copy


def save_h5(model: Any, path: str | Path) -> Path:
    """Save a Keras model as HDF5 (the course's format), atomically, without Keras'
    "legacy format" warning: the file loads with plain ``keras.models.load_model``."""
    import logging

    absl_logger = logging.getLogger("absl")
    level = absl_logger.level
    absl_logger.setLevel(logging.ERROR)
    try:
        return write_with(path, lambda tmp: model.save(tmp))
    finally:
        absl_logger.setLevel(level)


def _tuple_state(state: Any) -> tuple:
    """``random.getstate()`` after a JSON round trip (lists back to tuples)."""
    return (state[0], tuple(state[1]), state[2])


