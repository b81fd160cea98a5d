"""Videos of a greedy agent: ``.mp4`` (imageio-ffmpeg ships its own ffmpeg) or ``.gif``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from lunar.run.atomic import atomic_path
from lunar.errors import UserError
from lunar.reports.evaluation import greedy_policy, play

VIDEO_SUFFIXES = (".mp4", ".gif")


def _writer(path: Path, fps: int):
    import imageio.v2 as imageio

    if path.suffix.lower() == ".gif":
        return imageio.get_writer(path, mode="I", duration=1000.0 / fps, loop=0)
    return imageio.get_writer(path, fps=fps, macro_block_size=1, format="FFMPEG")


def check_video_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise UserError(f"video file must end in .mp4 or .gif, got {path.name!r}")
    return path


def writer_problem(suffix: str = ".mp4") -> str | None:
    """Why a 3-frame video of ``suffix`` cannot be written and read back here, or None; the test file
    lives in a temporary folder only (``evaluate.py`` asks before it plays any episode)."""
    import tempfile

    import imageio.v2 as imageio

    try:
        with tempfile.TemporaryDirectory(prefix="lunar-video-check-") as folder:
            path = Path(folder) / f"check{suffix}"
            write_frames(path, [np.full((64, 96, 3), 40 * i, dtype=np.uint8) for i in range(3)], fps=10)
            reader = imageio.get_reader(path, format="FFMPEG" if suffix == ".mp4" else None)
            try:
                count = sum(1 for _ in reader)
            finally:
                reader.close()
    except Exception as error:  # noqa: BLE001 - a missing or broken encoder raises anything
        return f"{type(error).__name__}: {str(error).strip().splitlines()[0][:160] if str(error).strip() else ''}"
    return None if count == 3 else f"wrote 3 frames, read back {count}"


def check_video_writer(suffix: str, alternative: str = "") -> None:
    """UserError in one line when :func:`writer_problem` finds one: before any episode is played."""
    problem = writer_problem(suffix)
    if problem:
        raise UserError(f"cannot write {suffix} videos here ({problem}): pip install \"imageio-ffmpeg>=0.4.9\", "
                        f"run lunar-doctor{alternative}")


def write_frames(path: str | Path, frames: Iterable[np.ndarray], fps: int = 30) -> int:
    """Write frames to ``path`` atomically; returns the number written."""
    path = check_video_path(path)
    count = 0
    with atomic_path(path) as tmp:
        with _writer(tmp, fps) as writer:
            for frame in frames:
                writer.append_data(frame)
                count += 1
    return count


def episode_frames(env: Any, policy: Callable[[np.ndarray], int], seed: int | None = None,
                   caption: Callable[[int, float], str] | None = None,
                   max_steps: int = 100_000) -> Iterable[np.ndarray]:
    """Frames of one episode: the reset frame, then one per step (steps + 1 frames).
    ``caption(step, running_return)``, if given, is drawn on each frame."""
    for step in play(env, policy, seed, max_steps):
        frame = env.render()
        yield frame if caption is None else draw_caption(frame, caption(step.t, step.total))


def draw_caption(frame: np.ndarray, text: str) -> np.ndarray:
    """The frame with ``text`` in its top-left corner."""
    from PIL import Image, ImageDraw

    image = Image.fromarray(np.ascontiguousarray(frame))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 8 + 7 * len(text), 18), fill=(0, 0, 0))
    draw.text((4, 3), text, fill=(255, 255, 255))
    return np.asarray(image)


def create_video(filename: str | Path, env: Any, q_network: Any, fps: int = 30, seed: int | None = None) -> int:
    """The course's ``create_video``: one greedy episode to ``filename``; returns the frame count."""
    if getattr(env, "render_mode", None) != "rgb_array":
        raise UserError("create_video needs an environment made with render_mode='rgb_array'")
    return write_frames(filename, episode_frames(env, greedy_policy(q_network), seed=seed), fps=fps)


def thumbnail_frames(frames: Iterable[np.ndarray], scale: float = 0.5, every: int = 2) -> Iterable[np.ndarray]:
    """Every ``every``-th frame (the last one kept), resized by ``scale``: a GIF small enough for a README."""
    from PIL import Image

    def small(frame: np.ndarray) -> np.ndarray:
        image = Image.fromarray(np.ascontiguousarray(frame))
        return np.asarray(image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))),
                                       Image.Resampling.LANCZOS))

    last, index = None, -1
    for index, last in enumerate(frames):
        if index % every == 0:
            yield small(last)
    if last is not None and index % every != 0:
        yield small(last)
