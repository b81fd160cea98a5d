"""``pyvirtualdisplay`` inside lunar-grade's kernel only: a display that does nothing.

The course's notebook starts an X virtual display (``Display(visible=0, size=(840,
480)).start()``) so that gym can render. Gymnasium renders ``rgb_array`` frames without
any display, and grading never renders, so no Xvfb is needed. See ``grading/compat/README.md``.
"""

from __future__ import annotations

from typing import Any


class Display:
    """Accepts pyvirtualdisplay's arguments; ``start``/``stop`` return the display and do nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.is_alive = False

    def start(self) -> "Display":
        self.is_alive = True
        return self

    def stop(self) -> "Display":
        self.is_alive = False
        return self

    def __enter__(self) -> "Display":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
