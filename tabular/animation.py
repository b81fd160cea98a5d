"""FrozenLake animations: the agent at several stages of training, and the trained policy.

``training.gif`` plays one episode per stage, acting as the agent did at that point of the
run (epsilon-greedy on the Q-table it had then, with that episode's epsilon), so a learner
sees the behaviour change: random stumbling into holes first, a route to the goal later.
Each frame is captioned with the episode number, epsilon and, at the end, the outcome.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

from tabular.algorithms import epsilon_greedy, greedy_policy
from tabular.files import write_gif
from tabular.frozenlake import make_frozenlake
from tabular.qlearning import play

MAX_FRAMES_PER_STAGE = 60
"""An episode's frames beyond this are left out of the animation (the caption says so)."""
MAX_WIDTH = 320


def caption(frame: np.ndarray, text: str) -> np.ndarray:
    """``frame`` (height x width x 3) with a black band above it holding ``text``; frames
    wider than ``MAX_WIDTH`` are halved first (the 8x8 map's 512 pixels: GIF encoding
    takes four times as long and the squares stay readable at half size)."""
    from PIL import Image, ImageDraw

    band, picture = 22, Image.fromarray(frame)
    if picture.width > MAX_WIDTH:
        picture = picture.resize((picture.width // 2, picture.height // 2), Image.Resampling.NEAREST)
    image = Image.new("RGB", (picture.width, picture.height + band))
    image.paste(picture, (0, band))
    ImageDraw.Draw(image).text((6, 5), text, fill=(255, 255, 255))
    return np.asarray(image)


ENDINGS = {"goal": "reached the goal", "hole": "fell into a hole", "time limit": "time limit"}


def rendered(env: Any, act: Callable[[int], int], seed: int, max_steps: int) -> tuple[list[np.ndarray], str]:
    """Rendered frames of one episode from ``reset(seed=seed)`` (:func:`tabular.qlearning.play`), and how it ended."""
    frames: list[np.ndarray] = []
    ending = play(env, act, seed, max_steps, lambda: frames.append(env.render()))[2]
    return frames, ENDINGS[ending]


def training_frames(outcome: Any, env: Any) -> list[np.ndarray]:
    """One captioned episode per snapshot of ``outcome.result`` (see ``tabular.train(snapshots=...)``)."""
    rng = np.random.default_rng(outcome.config.seed)
    total = outcome.config.episodes
    frames = []
    for stage, (episode, (q, epsilon)) in enumerate(sorted(outcome.result.snapshots.items())):
        images, ended = rendered(env, lambda s: epsilon_greedy(q[s], epsilon, rng), outcome.config.seed + stage,
                             outcome.config.max_steps)
        shown = images[:MAX_FRAMES_PER_STAGE]
        for i, image in enumerate(shown):
            end = f": {ended}" if i == len(shown) - 1 else ""
            cut = " (cut)" if end and len(images) > len(shown) else ""
            frames.append(caption(image, f"episode {episode + 1:,} of {total:,}, epsilon {epsilon:.2f}{end}{cut}"))
    return frames


def write_frozenlake_gifs(outcome: Any, out: Path) -> tuple[int, int]:
    """``training.gif`` (the stages of training) and ``trained.gif`` (the greedy policy);
    returns their frame counts."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # off-screen frames need no window
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    options, policy = outcome.options, greedy_policy(outcome.result.q)
    env = make_frozenlake(options["map"], options["slippery"], options["custom_map"], render_mode="rgb_array")
    try:
        training = write_gif(out / "training.gif", training_frames(outcome, env), fps=8)
        images, ended = rendered(env, lambda s: int(policy[s]), outcome.config.seed, outcome.config.max_steps)
        trained = write_gif(out / "trained.gif", [caption(image, f"trained, greedy: {ended}" if i == len(images) - 1
                                                          else "trained, greedy")
                                                  for i, image in enumerate(images)])
    finally:
        env.close()
    return training, trained
