"""Resuming a run: which checkpoint it continues from, read and verified once, and the
hyperparameters it continues with, checked against this run's code and configuration.

:func:`lunar.training.train` is the one caller, in this order: :func:`require_checkpoints` before
anything is touched; then, with the output folder locked (the lock is taken once, by ``train``),
:func:`read_checkpoint`. :meth:`lunar.run.state.Run.open` rebuilds the run from it (or from the
newest older checkpoint whose arrays fit the agent: a forged or foreign one is skipped like a
damaged one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lunar.run import checkpoint as ckpt
from lunar.config import DQNConfig, differences
from lunar.errors import UserError, warn
from lunar.run.lab_code import LabCode

SHAPE_FIELDS = ("env_id", "hidden_units", "memory_size")
"""Settings a resumed run cannot change, even with ``force``: they fix the arrays' shapes."""


def require_checkpoints(output_dir: str | Path) -> None:
    """UserError when ``output_dir`` has no checkpoints folder: there is nothing to resume."""
    if not (Path(output_dir) / "checkpoints").is_dir():
        raise UserError(f"no valid checkpoint to resume in {output_dir}: it has no checkpoints folder")


def read_checkpoint(output_dir: Path, checkpoint: ckpt.Checkpoint | None, config: DQNConfig | None,
                    overrides: dict[str, Any], force: bool, lab_code: LabCode) -> tuple[ckpt.Checkpoint, DQNConfig]:
    """The checkpoint a resume continues from (``checkpoint`` when already read, else the newest valid one
    in ``output_dir``) and the configuration it continues with (:func:`resumed_config`)."""
    checkpoint = checkpoint or newest_checkpoint(output_dir / "checkpoints")
    return checkpoint, resumed_config(checkpoint, config, overrides, force, lab_code)


def newest_checkpoint(checkpoints: Path) -> ckpt.Checkpoint:
    """The newest checkpoint in ``checkpoints`` that validates, each damaged one warned about on
    stderr; UserError saying why when none does."""
    reasons: list[str] = []

    def note(message: str) -> None:
        reasons.append(message)
        warn(message)

    found = ckpt.latest_valid(checkpoints, warn=note)
    if found is None:
        why = f": every one is damaged, the newest because {reasons[0].split(': ', 1)[-1]}" if reasons else ""
        raise UserError(f"no valid checkpoint to resume in {checkpoints}{why}")
    return found


def resumed_config(found: ckpt.Checkpoint, config: DQNConfig | None, overrides: dict[str, Any], force: bool,
                   lab_code: LabCode) -> DQNConfig:
    """The resumed run's hyperparameters: ``config`` (by default the checkpoint's own) with ``overrides``.

    Refused when the checkpoint trained other code than ``lab_code``, when a :data:`SHAPE_FIELDS`
    setting differs, or when any other differs and not ``force``."""
    made_by = found.manifest.get("lab_code", [])
    if made_by != lab_code.given():
        def whose(parts: list[str]) -> str:
            return f"your {', '.join(parts)}" if parts else "the kit's own code"
        raise UserError(f"the checkpoint trained {whose(made_by)}, this run gives {whose(lab_code.given())}: "
                        "resume it with the same code (--notebook, or the same arguments to train())")
    config = (config or DQNConfig(**found.manifest["config"])).replace(**overrides)
    changed = differences(found.manifest["config"], config)
    fixed = [change for change in changed if change.split(":")[0] in SHAPE_FIELDS]
    if fixed:
        raise UserError("cannot resume with another " + "; ".join(fixed) + " (the checkpoint's networks and "
                        "replay memory have its shapes): start a new run in another --output-dir")
    if changed and not force:
        raise UserError("the checkpoint was made with other hyperparameters (" + "; ".join(changed)
                        + "); pass --force to resume anyway")
    return config
