"""TensorBoard scalars of a training run: ``tensorboard --logdir DIR`` compares runs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

SCALARS = {"episode_return": "return", "moving_average": "moving_average", "epsilon": "epsilon", "loss": "loss",
           "mean_q": "mean_q"}
"""Scalar name -> history column, written per episode (x axis: episode) where the value is a
number (``loss`` and ``mean_q`` are missing before the first update)."""


class TensorBoardReporter:
    """Writes :data:`SCALARS` with ``tf.summary`` and forwards everything to ``inner``."""

    def __init__(self, logdir: str | Path, inner: Any = None) -> None:
        self.logdir = Path(logdir)
        self.inner = inner
        self._writer: Any = None

    def start(self, config: Any, first_episode: int) -> None:
        import tensorflow as tf

        self._writer = tf.summary.create_file_writer(str(self.logdir))
        if self.inner is not None:
            self.inner.start(config, first_episode)

    def episode(self, row: dict[str, Any]) -> None:
        import tensorflow as tf

        with self._writer.as_default(step=int(row["episode"])):
            for name, column in SCALARS.items():
                value = row.get(column)
                if value is not None and not math.isnan(float(value)):
                    tf.summary.scalar(name, float(value))
        if self.inner is not None:
            self.inner.episode(row)

    def message(self, text: str) -> None:
        if self.inner is not None:
            self.inner.message(text)

    def stop(self) -> None:
        if self._writer is not None:
            self._writer.flush()
            self._writer.close()
            self._writer = None
        if self.inner is not None:
            self.inner.stop()
