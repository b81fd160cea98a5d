"""A crafted class of 20 course-format notebooks (issue 38): blank, partly solved, solved, one learner's
notebook with its own code and three near-copies of it (names changed, cells reordered), and two
independent correct solutions. ``write_class(folder)`` writes them and the template."""

from __future__ import annotations

from pathlib import Path

from tests.course_format import C1_BLANK, C1_SOLVED, C2_BLANK, C2_HEAD, C2_WRONG, course_cells, write

OWN_C1 = C1_SOLVED.replace("Dense(units=64, activation='relu')", "tf.keras.layers.Dense(64, activation=tf.nn.relu)")
OWN_C2 = C2_HEAD.format(targets="rewards + gamma * (1 - done_vals) * max_qsa",
                        loss="tf.reduce_mean(tf.square(y_targets - q_values))")
HELPER = '''def smooth_history(points, width):
    kernel = np.ones(width) / width
    padded = np.concatenate([np.full(width - 1, points[0]), points])
    smoothed = np.convolve(padded, kernel, mode='valid')
    best_index = int(np.argmax(smoothed))
    worst_index = int(np.argmin(smoothed))
    return smoothed, best_index, worst_index'''
REPORT = '''def describe_run(history, label):
    smoothed, best, worst = smooth_history(np.asarray(history), 25)
    spread = float(np.max(smoothed) - np.min(smoothed))
    summary = {'label': label, 'best': best, 'worst': worst, 'spread': spread}
    return summary'''
RENAMES = {"smooth_history": "rolling", "points": "values", "width": "w", "kernel": "k", "padded": "p",
           "smoothed": "out", "best_index": "hi", "worst_index": "lo", "describe_run": "summarise",
           "history": "h", "label": "name", "spread": "rng", "summary": "result"}
INDEPENDENT = [
    ('''def clipped_returns(returns, low, high):
    clipped = np.clip(np.asarray(returns, dtype=float), low, high)
    above = int(np.sum(clipped >= high))
    below = int(np.sum(clipped <= low))
    return clipped, above, below''', C2_HEAD.format(targets="rewards + (gamma * max_qsa) * (1.0 - done_vals)",
                                                    loss="MSE(y_targets, q_values)")),
    ('''def episodes_to(threshold, averages):
    reached = [i for i, value in enumerate(averages) if value >= threshold]
    first = reached[0] if reached else None
    count = len(reached)
    return first, count''', C2_HEAD.format(targets="tf.where(done_vals > 0, rewards, rewards + gamma * max_qsa)",
                                           loss="tf.keras.losses.mean_squared_error(y_targets, q_values)")),
]


def renamed(source: str) -> str:
    for old, new in RENAMES.items():
        source = source.replace(old, new)
    return source


def write_class(folder: Path) -> dict[str, Path]:
    """The template and 20 notebooks in ``folder``, by name."""
    folder.mkdir(parents=True, exist_ok=True)
    made = {"template": write(folder.parent / "template.ipynb", course_cells(C1_BLANK, C2_BLANK))}
    for i in range(6):
        made[f"blank_{i}"] = write(folder / f"blank_{i}.ipynb", course_cells(C1_BLANK, C2_BLANK))
    for i in range(3):
        made[f"partly_{i}"] = write(folder / f"partly_{i}.ipynb", course_cells(C1_SOLVED, C2_WRONG))
    for i in range(5):
        made[f"solved_{i}"] = write(folder / f"solved_{i}.ipynb", course_cells())
    original = course_cells(OWN_C1, OWN_C2, after=(HELPER, REPORT))
    made["original"] = write(folder / "original.ipynb", original)
    for i in range(3):
        cells = [renamed(c) for c in original]
        cells = cells[:-2] + cells[-2:][::-1] if i % 2 else cells[-2:] + cells[:-2]  # reordered cells
        made[f"copy_{i}"] = write(folder / f"copy_{i}.ipynb", cells)
    for i, (helper, c2) in enumerate(INDEPENDENT):
        made[f"independent_{i}"] = write(folder / f"independent_{i}.ipynb", course_cells(c2=c2, after=(helper,)))
    return made
