"""The kit's exercise notebook, solved or with graded cells replaced, and ``lunar-grade`` run on it in
its own process: shared by the grader's tests."""

import inspect
import subprocess
import sys
from pathlib import Path

import nbformat

from grading.exercises import COURSE_AGENT_LEARN
from tests.learners import course_compute_loss

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "notebooks" / "lab_exercises.ipynb"

SOLVED = {
    "# UNQ_C1": """# UNQ_C1
q_network = Sequential([
    tf.keras.layers.Input(state_size),
    tf.keras.layers.Dense(64, activation="relu"),
    tf.keras.layers.Dense(64, activation="relu"),
    tf.keras.layers.Dense(num_actions, activation="linear"),
])
target_q_network = Sequential([
    tf.keras.layers.Input(state_size),
    tf.keras.layers.Dense(64, activation="relu"),
    tf.keras.layers.Dense(64, activation="relu"),
    tf.keras.layers.Dense(num_actions, activation="linear"),
])
optimizer = tf.keras.optimizers.Adam(learning_rate=ALPHA)""",
    "# UNQ_C2": "# UNQ_C2\n" + inspect.getsource(course_compute_loss).replace("def course_compute_loss",
                                                                              "def compute_loss"),
    "# UNQ_C3": "# UNQ_C3\n" + COURSE_AGENT_LEARN.strip(),  # the kit's Exercise 3 is the course's given code
}


def filled_copy(folder: Path, name: str, replace: dict[str, str], extra_cells=()) -> Path:
    """The exercise notebook with its graded cells replaced, saved as ``folder/name``."""
    nb = nbformat.read(EXERCISES, as_version=4)
    for cell in nb.cells:
        for marker, source in {**SOLVED, **replace}.items():
            if cell.cell_type == "code" and cell.source.startswith(marker):
                cell.source = source
    nb.cells.extend(nbformat.v4.new_code_cell(source) for source in extra_cells)
    path = folder / name
    nbformat.write(nb, path)
    return path


def grade(*args, cwd=ROOT):
    done = subprocess.run([sys.executable, "-m", "grading", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=600)
    return done.returncode, done.stdout, done.stderr
