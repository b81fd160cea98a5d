"""Learning curves: returns per episode and their moving average."""

from __future__ import annotations

import io
from typing import Any, Sequence

import numpy as np
import pandas as pd


def mean_of_last(values: Sequence[float], window: int) -> float:
    """The course's ``np.mean(total_point_history[-num_p_av:])``: the mean of the last ``window``
    values, of all of them while there are fewer. The kit's one moving average."""
    return float(np.mean(np.asarray(values[-window:], dtype=np.float64)))


def moving_average(values: Sequence[float], window: int) -> np.ndarray:
    """:func:`mean_of_last` at each episode: the same numbers as a history's ``moving_average``
    column, from episode 1 on."""
    values = np.asarray(values, dtype=np.float64)
    return np.array([mean_of_last(values[:i + 1], window) for i in range(len(values))])


def plot_history(point_history: Sequence[float], **kwargs: Any) -> pd.DataFrame:
    """The course's ``plot_history``: returns per episode and their rolling mean, shown.

    Keyword arguments (all optional, as in the course): ``window_size`` (default 10%
    of the episodes), ``lower_limit``, ``upper_limit``, ``plot_rolling_mean_only``,
    ``plot_data_only``; and ``target`` to draw the solving line, ``reference`` (a
    :class:`lunar.reports.reference.Reference`) to draw its band behind the curve.
    :func:`learning_curve_png` draws the same figure as PNG bytes instead of showing it.

    Returns a DataFrame with columns ``episode``, ``return``, ``rolling_mean``.
    """
    return _draw(point_history, None, **kwargs)


def learning_curve_png(point_history: Sequence[float], **kwargs: Any) -> tuple[pd.DataFrame, bytes]:
    """:func:`plot_history`'s figure as PNG bytes (for a file), and its DataFrame."""
    png = io.BytesIO()
    frame = _draw(point_history, png, **kwargs)
    return frame, png.getvalue()


def _draw(point_history: Sequence[float], png: io.BytesIO | None, **kwargs: Any) -> pd.DataFrame:
    lower = int(kwargs.get("lower_limit", 0))
    upper = int(kwargs.get("upper_limit", len(point_history)))
    window = int(kwargs.get("window_size", max(1, (upper * 10) // 100)))
    points = np.asarray(point_history[lower:upper], dtype=np.float64)
    episodes = np.arange(lower, lower + len(points))
    rolling = moving_average(points, max(1, window))
    frame = pd.DataFrame({"episode": episodes, "return": points, "rolling_mean": rolling})

    import matplotlib
    if png is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5), facecolor="white")
    if kwargs.get("reference") is not None:
        _draw_reference(ax, kwargs["reference"], episodes)
    if not kwargs.get("plot_rolling_mean_only", False):
        ax.plot(episodes, points, linewidth=1, color="cyan", label="return")
    if not kwargs.get("plot_data_only", False):
        ax.plot(episodes, rolling, linewidth=2, color="magenta", label=f"{window}-episode mean")
    if kwargs.get("target") is not None:
        ax.axhline(float(kwargs["target"]), color="gray", linestyle="--", linewidth=1, label="target")
    ax.set_xlabel("Episode")
    ax.set_ylabel("Total points")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    if kwargs.get("title"):
        ax.set_title(str(kwargs["title"]))
    if png is not None:
        fig.savefig(png, format="png", dpi=100, bbox_inches="tight")
        plt.close(fig)
    else:
        plt.show()
    return frame


def _draw_reference(ax: Any, reference: Any, episodes: np.ndarray) -> None:
    """The reference's band behind the curve: 10th-90th and 25th-75th percentiles, and the median."""
    if len(episodes) == 0:
        return
    bands = [reference.band(episode) for episode in range(1, len(episodes) + 1)]
    band = {p: np.array([b[p] for b in bands]) for p in (10, 25, 50, 75, 90)}
    x = episodes
    ax.fill_between(x, band[10], band[90], color="gray", alpha=0.15, linewidth=0,
                    label=f"reference, {len(reference.seeds)} seeds: 10-90%")
    ax.fill_between(x, band[25], band[75], color="gray", alpha=0.3, linewidth=0, label="reference: middle half")
    ax.plot(x, band[50], color="gray", linewidth=1, linestyle=":", label="reference: median")


def learning_curve(history: pd.DataFrame, window: int = 100, target: float | None = None,
                   title: str | None = None, reference: Any = None) -> bytes:
    """PNG of a training history: returns, their ``window``-episode moving average, and
    ``reference``'s band behind them if given (:mod:`lunar.reports.reference`)."""
    return learning_curve_png(history["return"].tolist(), window_size=window, target=target, title=title,
                              reference=reference)[1]
