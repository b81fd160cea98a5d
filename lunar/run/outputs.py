"""What a training run writes to its output folder, every file atomically.

``<stem>_config.toml`` (the resolved hyperparameters) at the start; checkpoints under
``checkpoints/`` with the history CSV and learning-curve PNG every ``checkpoint_every``
episodes and at the end; the model ``<stem>_model.h5`` when the run solved.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from lunar.run import checkpoint as ckpt
from lunar.run.atomic import atomic_path, check_file_target, check_writable, write_bytes, write_text
from lunar.config import DQNConfig, to_toml
from lunar.errors import UserError
from lunar.reports.plotting import learning_curve
from lunar.reports.reference import reference_for
from lunar.run.state import Run
from lunar.reports.symptoms import symptoms_text


def model_stem(env_id: str) -> str:
    """File stem for a run's outputs: ``lunar_lander`` for LunarLander, else the id in snake case."""
    if env_id.startswith("LunarLander"):
        return "lunar_lander"
    return "".join(c.lower() if c.isalnum() else "_" for c in env_id).strip("_")


def output_paths(output_dir: str | Path, env_id: str) -> dict[str, Path]:
    out, stem = Path(output_dir), model_stem(env_id)
    return {"model": out / f"{stem}_model.h5", "history": out / f"{stem}_history.csv",
            "plot": out / f"{stem}_history.png", "config": out / f"{stem}_config.toml",
            "symptoms": out / f"{stem}_symptoms.txt",
            "checkpoints": out / "checkpoints"}


def check_output_dir(output_dir: Any) -> Path:
    """``output_dir`` as a Path; UserError unless it is a path (str or os.PathLike) and not empty."""
    if not isinstance(output_dir, (str, os.PathLike)):
        raise UserError(f"the output folder must be a path, got {output_dir!r}")
    if str(output_dir).strip() == "":
        raise UserError("the output folder must not be empty (use . for the current folder)")
    return Path(output_dir)


class RunFolder:
    """The output folder of one run, its targets checked. ``enabled=False`` writes nothing
    (benchmarks). It takes no lock: :func:`lunar.training.train` holds the folder's."""

    def __init__(self, output_dir: str | Path, config: DQNConfig, enabled: bool = True) -> None:
        self.output_dir = check_output_dir(output_dir)
        self.config = config
        self.paths = output_paths(output_dir, config.env_id)
        self.stem = model_stem(config.env_id)
        self.enabled = enabled
        self.last_checkpoint: Path | None = None
        self._replace_earlier_run = False
        self.reference: Any = None
        if enabled:
            self.check_targets()

    def check_targets(self) -> None:
        """UserError unless every file and folder of the run can be written: before any work."""
        check_writable(self.output_dir)
        for key in ("config", "history", "plot", "symptoms", "model"):
            check_file_target(self.paths[key])
        checkpoints = self.paths["checkpoints"]
        if checkpoints.exists() and not checkpoints.is_dir():
            raise UserError(f"{checkpoints} is a file, but the run keeps its checkpoints in a folder of that name")

    def last_good(self) -> str:
        return f"the last good checkpoint is {self.last_checkpoint or 'none (none was written yet)'}"

    def begin(self, run: Run, resumed_from: Path | None, message: Callable[[str], None],
              checkpoint_every: int = 50) -> None:
        """Write the configuration. A fresh run in a folder that holds an earlier run's
        checkpoints replaces them, but only once its own first checkpoint is on disk.
        Temporary files that a killed run left behind are removed (the folder is locked)."""
        self.last_checkpoint = resumed_from
        self._checkpoint_every = checkpoint_every
        if not self.enabled:
            return
        for leftover in self.output_dir.glob(f".{self.stem}_*.tmp*"):
            leftover.unlink(missing_ok=True)
        if resumed_from is None and ckpt.list_checkpoints(self.paths["checkpoints"]):
            self._replace_earlier_run = True
            message(f"note: {self.paths['checkpoints']} holds an earlier run's checkpoints; this new run replaces "
                    f"them at its first checkpoint (to continue that run instead: --resume {self.output_dir})")
        self.reference = reference_for(self.config)  # the band behind the curve, the same all run long
        config_text = to_toml(self.config)
        write_text(self.paths["config"], config_text)

    def checkpoint(self, run: Run) -> pd.DataFrame | None:
        """A checkpoint of ``run``, then the history CSV and the learning curve; returns the history written."""
        if not self.enabled:
            return None
        bundle = run.bundle()
        bundle.manifest["checkpoint_every"] = self._checkpoint_every
        self.last_checkpoint = ckpt.save(self.paths["checkpoints"], bundle,
                                         replace_others=self._replace_earlier_run)
        self._replace_earlier_run = False
        history = pd.DataFrame(run.history, columns=ckpt.HISTORY_COLUMNS)
        write_text(self.paths["history"], history.to_csv(index=False))
        if run.history:  # over the course preset's reference band when the run is the course preset's
            c = self.config
            write_bytes(self.paths["plot"], learning_curve(history, window=c.num_p_av, target=c.target_score,
                                                           title=f"DQN on {c.env_id}", reference=self.reference))
        return history

    def finish(self, run: Run, status: str) -> dict[str, Path]:
        """The last checkpoint and outputs, the model if the run solved, and the named symptoms;
        returns the paths written."""
        if not self.enabled:
            return {}
        history = self.checkpoint(run)
        if status == "solved":
            save_h5(run.saved_network(), self.paths["model"])
        write_text(self.paths["symptoms"], symptoms_text(history, self.config))
        written = {k: self.paths[k] for k in ("history", "plot", "config", "symptoms") if self.paths[k].exists()}
        written["checkpoint"] = self.last_checkpoint  # type: ignore[assignment]
        if status == "solved":
            written["model"] = self.paths["model"]
        return written


def save_h5(model: Any, path: str | Path) -> Path:
    """Save a Keras model as HDF5 (the course's format), atomically, without Keras'
    "legacy format" warning: the file loads with plain ``keras.models.load_model``."""
    import logging
    import shutil

    path = Path(path)
    needed = 2 * sum(int(np.asarray(w).nbytes) for w in model.weights) + (1 << 20)
    free = shutil.disk_usage(path.parent if path.parent.exists() else Path(".")).free
    if free < needed:  # h5py can crash the interpreter when the disk fills up under it
        raise OSError(errno.ENOSPC, f"No space left on device: {free:,} bytes free, the model needs about "
                                    f"{needed:,}", str(path))
    absl_logger = logging.getLogger("absl")
    level = absl_logger.level
    absl_logger.setLevel(logging.ERROR)
    try:
        with atomic_path(path) as tmp:
            try:
                model.save(tmp)
            except RuntimeError as error:  # h5py reports a failed write (a full disk) as RuntimeError
                raise OSError(errno.EIO, f"HDF5 write failed ({error})", str(tmp)) from None
        return path
    finally:
        absl_logger.setLevel(level)
