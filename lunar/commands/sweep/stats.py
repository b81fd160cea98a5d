"""Summaries across seeds: the interquartile mean, a bootstrap interval, the aggregate table
and the learning curves with their interquartile band (the habits of rliable and of
"Deep RL that matters"). No Ray here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lunar.run.atomic import write_with

RUN_COLUMNS = ["trial_id", "variant", "preset", "seed", "status", "solved", "episodes", "steps_to_solve",
               "total_steps", "wall_seconds", "cpu_seconds", "greedy_mean", "greedy_share_200", "peak_rss_mb", "node",
               "error"]
"""The per-run CSV. ``steps_to_solve`` and the greedy score (official protocol: seeds 0..N-1)
are empty for a run that did not solve: it saved no model. ``cpu_seconds`` is the CPU time of the
worker's last stretch of training (all of it, unless the run was resumed). ``node`` is the Ray node
that ran it, ``peak_rss_mb`` its worker's peak resident memory."""


def iqm(values: np.ndarray) -> float:
    """Interquartile mean: the mean of the middle half, ``mean(sorted(x)[floor(n/4) : n - floor(n/4)])``.

    Robust to one collapsed seed, less noisy than the median (Agarwal et al., 2021)."""
    x = np.sort(np.asarray(values, dtype=float))
    if len(x) == 0:
        return float("nan")
    cut = len(x) // 4
    return float(x[cut:len(x) - cut].mean())


def bootstrap_interval(values: np.ndarray, statistic: Any, rng: np.random.Generator,
                       resamples: int = 10_000, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap: the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of
    ``statistic`` over ``resamples`` resamples of ``values`` with replacement."""
    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        return float("nan"), float("nan")
    draws = rng.integers(0, len(x), size=(resamples, len(x)))
    stats = np.array([statistic(x[row]) for row in draws])
    low, high = np.quantile(stats, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def aggregate(runs: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One row per variant: solved count; median and IQR of steps to solve and wall time; mean,
    IQM and a bootstrap 95% interval of the IQM of the greedy score (over the runs that solved)."""
    rows = []
    for variant, group in runs.groupby("variant", sort=False):
        solved = group[group["solved"].astype(bool)]
        steps, wall, greedy = (solved["steps_to_solve"].to_numpy(float), group["wall_seconds"].to_numpy(float),
                               solved["greedy_mean"].dropna().to_numpy(float))
        cpu = group["cpu_seconds"].to_numpy(float) if "cpu_seconds" in group else np.array([])
        low, high = bootstrap_interval(greedy, iqm, rng)
        rows.append({"variant": variant, "runs": len(group), "solved": len(solved),
                     "steps_median": _quantile(steps, 0.5), "steps_q1": _quantile(steps, 0.25),
                     "steps_q3": _quantile(steps, 0.75), "wall_median": _quantile(wall, 0.5),
                     "wall_q1": _quantile(wall, 0.25), "wall_q3": _quantile(wall, 0.75),
                     "cpu_median": _quantile(cpu[~np.isnan(cpu)], 0.5),
                     "greedy_mean": float(greedy.mean()) if len(greedy) else float("nan"),
                     "greedy_iqm": iqm(greedy), "greedy_iqm_low": low, "greedy_iqm_high": high,
                     "greedy_worst": float(greedy.min()) if len(greedy) else float("nan")})
    return pd.DataFrame(rows)


def _quantile(values: np.ndarray, q: float) -> float:
    return float(np.quantile(values, q)) if len(values) else float("nan")


def markdown(table: pd.DataFrame) -> str:
    """The aggregate table as Markdown, numbers rounded for reading."""
    rows = [[r.variant, f"{r.solved}/{r.runs}", _spread(r.steps_median, r.steps_q1, r.steps_q3),
             _spread(r.wall_median, r.wall_q1, r.wall_q3), _whole(r.cpu_median), _f(r.greedy_mean),
             f"{_f(r.greedy_iqm)} [{_f(r.greedy_iqm_low)}, {_f(r.greedy_iqm_high)}]"
             if not np.isnan(r.greedy_iqm) else "-", _f(r.greedy_worst)] for r in table.itertuples()]
    return markdown_table(["variant", "solved", "steps to solve, median (IQR)", "wall s, median (IQR)",
                           "CPU s, median", "greedy mean", "greedy IQM [95% CI]", "worst"], rows)


def markdown_table(columns: list[str], rows: list[list[str]]) -> str:
    """``columns`` and ``rows`` (already text) as a Markdown table, every column after the first aligned right."""
    lines = ["| " + " | ".join(columns) + " |", "|---|" + "---:|" * (len(columns) - 1)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _spread(median: float, q1: float, q3: float) -> str:
    return "-" if np.isnan(median) else f"{median:,.0f} ({q1:,.0f}-{q3:,.0f})"


def _whole(x: float) -> str:
    return "-" if np.isnan(x) else f"{x:,.0f}"


def _f(x: float) -> str:
    return "-" if np.isnan(x) else f"{x:.1f}"


def curve_band(curves: list[tuple[np.ndarray, np.ndarray]], points: int = 200) -> pd.DataFrame:
    """Median and interquartile band of moving-average curves ``(total_steps, average)`` on one
    grid of environment steps; at each step only the runs still going count."""
    end = max((float(steps[-1]) for steps, _ in curves if len(steps)), default=0.0)
    grid = np.linspace(0, end, points)
    stacked = np.full((len(curves), points), np.nan)
    for i, (steps, average) in enumerate(curves):
        if len(steps):
            inside = (grid >= steps[0]) & (grid <= steps[-1])
            stacked[i, inside] = np.interp(grid[inside], steps, average)
    alive = ~np.isnan(stacked).all(axis=0)
    q1, median, q3 = (np.full(points, np.nan) for _ in range(3))
    q1[alive], median[alive], q3[alive] = np.nanquantile(stacked[:, alive], [0.25, 0.5, 0.75], axis=0)
    return pd.DataFrame({"steps": grid, "q1": q1, "median": median, "q3": q3, "runs": (~np.isnan(stacked)).sum(0)})


def plot_curves(bands: dict[str, pd.DataFrame], path: Path, target: float | None = None) -> None:
    """Median moving average against environment steps, one line per variant, with its IQR band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.5))
    for variant, band in bands.items():
        line = axes.plot(band["steps"], band["median"], label=f"{variant} (median)")[0]
        axes.fill_between(band["steps"], band["q1"], band["q3"], color=line.get_color(), alpha=0.2)
    if target is not None:
        axes.axhline(target, color="grey", linestyle="--", linewidth=1, label=f"target {target:g}")
    axes.set(xlabel="environment steps", ylabel="moving average of returns",
             title="Learning curves across seeds: median and interquartile band")
    axes.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    write_with(path, lambda tmp: figure.savefig(tmp, format="png", dpi=100))
    plt.close(figure)
