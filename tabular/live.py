"""Watching and playing the grid world: a live reward plot and a terminal game (seed 002)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

from tabular.errors import UserError
from tabular.worlds import GridWorld

KEYS = {"KEY_LEFT": 0, "KEY_DOWN": 1, "KEY_RIGHT": 2, "KEY_UP": 3, "h": 0, "j": 1, "l": 2, "k": 3}
"""Arrow keys (and vi keys) to grid actions: 0 left, 1 down, 2 right, 3 up."""


class LiveRewardPlot:
    """Episode rewards and their moving average, redrawn in place while training.

    With an interactive matplotlib backend the window updates every ``every``
    episodes; on a headless machine nothing is shown and :meth:`close` saves the PNG.
    """

    def __init__(self, png: str | Path, every: int = 200, window: int = 100) -> None:
        import matplotlib
        import matplotlib.pyplot as plt

        self.png = Path(png)
        self.every = every
        self.window = window
        self.rewards: list[float] = []
        self.interactive = matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "ps", "cairo", "template")
        if self.interactive:
            plt.ion()
        self.fig, self.ax = plt.subplots(figsize=(8, 4))
        (self.line,) = self.ax.plot([], [], color="cyan", linewidth=0.8, label="episode reward")
        (self.mean,) = self.ax.plot([], [], color="magenta", linewidth=2, label=f"{window}-episode mean")
        self.ax.set_xlabel("Episode")
        self.ax.set_ylabel("Reward")
        self.ax.legend(loc="lower right")

    def add(self, episode: int, reward: float, epsilon: float) -> None:
        self.rewards.append(reward)
        if self.interactive and len(self.rewards) % self.every == 0:
            self._redraw()
            self.fig.canvas.draw_idle()
            self.fig.canvas.flush_events()

    def _redraw(self) -> None:
        import numpy as np
        import pandas as pd

        x = np.arange(len(self.rewards))
        self.line.set_data(x, self.rewards)
        self.mean.set_data(x, pd.Series(self.rewards).rolling(self.window, min_periods=1).mean())
        self.ax.relim()
        self.ax.autoscale_view()

    def close(self) -> Path | None:
        """Save the final figure as PNG (atomically) and return its path."""
        import matplotlib.pyplot as plt

        from tabular.files import write_atomically

        self._redraw()
        write_atomically(self.png, lambda tmp: self.fig.savefig(tmp, format="png", dpi=100))
        plt.close(self.fig)
        return self.png


def play(env: GridWorld, read_key: Callable[[], str], show: Callable[[str], None], seed: int = 0,
         max_steps: int = 200) -> float:
    """Play one episode with keys from ``read_key`` ('q' quits); returns the total reward."""
    state, _ = env.reset(seed=seed)
    total = 0.0
    show(env.render_text() + "arrows move, q quits\n")
    for _ in range(max_steps):
        key = read_key()
        if key in ("q", "Q"):
            break
        if key not in KEYS:
            continue
        state, reward, terminated, _, _ = env.step(KEYS[key])
        total += reward
        show(env.render_text() + f"reward {reward:+.2f}  total {total:+.2f}\n")
        if terminated:
            show(env.render_text() + f"goal reached! total {total:+.2f}\n")
            break
    return total


def play_in_terminal(seed: int = 0) -> int:
    """``python -m tabular demo``: the grid world in a curses screen."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UserError("demo needs an interactive terminal (it reads the arrow keys)")
    import curses

    def game(screen: Any) -> float:
        curses.curs_set(0)
        screen.keypad(True)

        def show(text: str) -> None:
            screen.clear()
            screen.addstr(0, 0, "5x5 grid world: you are A, reach G\n\n" + text)
            screen.refresh()

        def read_key() -> str:
            key = screen.getkey()
            return key

        total = play(GridWorld(), read_key, show, seed=seed)
        screen.addstr(12, 0, "press any key")
        screen.getkey()
        return total

    total = curses.wrapper(game)
    print(f"total reward: {total:+.2f}")
    return 0
