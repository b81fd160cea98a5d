"""Notebooks in the course's format (``C3_W3_A1_Assignment.ipynb`` as learners filled it in), written here.

The course's structure, cell by cell: its imports (``import gym``, ``pyvirtualdisplay``),
the virtual display, the hyperparameters, ``gym.make('LunarLander-v2')``, gym 0.24's
4-tuple ``step``, the graded cells ``# UNQ_C1`` and ``# UNQ_C2`` with their unit-test
cells, the given ``agent_learn``, the training loop, the plot and the video. The
variants are what a teacher holds: solved, blank, blank with stale "All tests passed"
outputs, solved but crashing later, partly solved, markers deleted, a Gymnasium port.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

IMPORTS = """import time
from collections import deque, namedtuple

import gym
import numpy as np
import PIL.Image
import tensorflow as tf
import utils

from pyvirtualdisplay import Display
from tensorflow.keras import Sequential
from tensorflow.keras.layers import Dense, Input
from tensorflow.keras.losses import MSE
from tensorflow.keras.optimizers import Adam"""

DISPLAY = """# Set up a virtual display to render the Lunar Lander environment.
Display(visible=0, size=(840, 480)).start();

# Set the random seed for TensorFlow
tf.random.set_seed(utils.SEED)"""

HYPERPARAMETERS = """MEMORY_SIZE = 100_000     # size of memory buffer
GAMMA = 0.995             # discount factor
ALPHA = 1e-3              # learning rate
NUM_STEPS_FOR_UPDATE = 4  # perform a learning update every C time steps"""

ENV = "env = gym.make('LunarLander-v2')"
RENDER = "env.reset()\nPIL.Image.fromarray(env.render(mode='rgb_array'))"
SIZES = """state_size = env.observation_space.shape
num_actions = env.action_space.n

print('State Shape:', state_size)
print('Number of actions:', num_actions)"""
RESET = "# Reset the environment and get the initial state.\ncurrent_state = env.reset()"
STEP = """# Select an action
action = 0

# Run a single time step of the environment's dynamics with the given action.
next_state, reward, done, _ = env.step(action)

# Display table with values.
utils.display_table(current_state, action, next_state, reward, done)

# Replace the `current_state` with the state after the action is taken
current_state = next_state"""

C1_SOLVED = """# UNQ_C1
# GRADED CELL

# Create the Q-Network
q_network = Sequential([
    ### START CODE HERE ###
    Input(shape=state_size),
    Dense(units=64, activation='relu'),
    Dense(units=64, activation='relu'),
    Dense(units=num_actions, activation='linear'),
    ### END CODE HERE ###
    ])

# Create the target Q^-Network
target_q_network = Sequential([
    ### START CODE HERE ###
    Input(shape=state_size),
    Dense(units=64, activation='relu'),
    Dense(units=64, activation='relu'),
    Dense(units=num_actions, activation='linear'),
    ### END CODE HERE ###
    ])

### START CODE HERE ###
optimizer = Adam(learning_rate=ALPHA)
### END CODE HERE ###"""

C1_BLANK = """# UNQ_C1
# GRADED CELL

# Create the Q-Network
q_network = Sequential([
    ### START CODE HERE ###
    None,
    ### END CODE HERE ###
    ])

# Create the target Q^-Network
target_q_network = Sequential([
    ### START CODE HERE ###
    None,
    ### END CODE HERE ###
    ])

### START CODE HERE ###
optimizer = None
### END CODE HERE ###"""

C1_TEST = "# UNIT TEST\nfrom public_tests import *\n\ntest_network(q_network)\ntest_network(target_q_network)\n" \
          "test_optimizer(optimizer, ALPHA)"

EXPERIENCE = 'experience = namedtuple("Experience", field_names=["state", "action", "reward", "next_state", "done"])'

C2_HEAD = '''# UNQ_C2
# GRADED FUNCTION: calculate_loss

def compute_loss(experiences, gamma, q_network, target_q_network):
    """
    Calculates the loss.

    Args:
      experiences: (tuple) tuple of ["state", "action", "reward", "next_state", "done"] namedtuples
      gamma: (float) The discount factor.
      q_network: (tf.keras.Sequential) Keras model for predicting the q_values
      target_q_network: (tf.keras.Sequential) Keras model for predicting the targets

    Returns:
      loss: (TensorFlow Tensor(shape=(0,), dtype=int32)) the Mean-Squared Error between
            the y targets and the Q(s,a) values.
    """

    # Unpack the mini-batch of experience tuples
    states, actions, rewards, next_states, done_vals = experiences

    # Compute max Q^(s,a)
    max_qsa = tf.reduce_max(target_q_network(next_states), axis=-1)

    # Set y = R if episode terminates, otherwise set y = R + γ max Q^(s,a).
    ### START CODE HERE ###
    y_targets = {targets}
    ### END CODE HERE ###

    # Get the q_values and reshape to match y_targets
    q_values = q_network(states)
    q_values = tf.gather_nd(q_values, tf.stack([tf.range(q_values.shape[0]),
                                                tf.cast(actions, tf.int32)], axis=1))

    # Compute the loss
    ### START CODE HERE ###
    loss = {loss}
    ### END CODE HERE ###

    return loss'''

C2_SOLVED = C2_HEAD.format(targets="rewards + (gamma * max_qsa * (1 - done_vals))", loss="MSE(y_targets, q_values)")
C2_BLANK = C2_HEAD.format(targets="None", loss="None")
C2_WRONG = C2_HEAD.format(targets="rewards + gamma * max_qsa", loss="MSE(y_targets, q_values)")
C2_TEST = "# UNIT TEST\ntest_compute_loss(compute_loss)"

AGENT_LEARN = '''@tf.function
def agent_learn(experiences, gamma):
    """
    Updates the weights of the Q networks.

    Args:
      experiences: (tuple) tuple of ["state", "action", "reward", "next_state", "done"] namedtuples
      gamma: (float) The discount factor.

    """

    # Calculate the loss
    with tf.GradientTape() as tape:
        loss = compute_loss(experiences, gamma, q_network, target_q_network)

    # Get the gradients of the loss with respect to the weights.
    gradients = tape.gradient(loss, q_network.trainable_variables)

    # Update the weights of the q_network.
    optimizer.apply_gradients(zip(gradients, q_network.trainable_variables))

    # update the weights of target q_network
    utils.update_target_network(q_network, target_q_network)'''

TRAIN = """start = time.time()

num_episodes = 2000
max_num_timesteps = 1000

total_point_history = []

num_p_av = 100    # number of total points to use for averaging
epsilon = 1.0     # initial ε value for ε-greedy policy

# Create a memory buffer D with capacity N
memory_buffer = deque(maxlen=MEMORY_SIZE)

# Set the target network weights equal to the Q-Network weights
target_q_network.set_weights(q_network.get_weights())

for i in range(num_episodes):
    state = env.reset()
    total_points = 0
    for t in range(max_num_timesteps):
        state_qn = np.expand_dims(state, axis=0)
        q_values = q_network(state_qn)
        action = utils.get_action(q_values, epsilon)
        next_state, reward, done, _ = env.step(action)
        memory_buffer.append(experience(state, action, reward, next_state, done))
        update = utils.check_update_conditions(t, NUM_STEPS_FOR_UPDATE, memory_buffer)
        if update:
            experiences = utils.get_experiences(memory_buffer)
            agent_learn(experiences, GAMMA)
        state = next_state.copy()
        total_points += reward
        if done:
            break
    total_point_history.append(total_points)
    av_latest_points = np.mean(total_point_history[-num_p_av:])
    epsilon = utils.get_new_eps(epsilon)
    if av_latest_points >= 200.0:
        q_network.save('lunar_lander_model.h5')
        break

tot_time = time.time() - start

print(f"\\nTotal Runtime: {tot_time:.2f} s ({(tot_time/60):.2f} min)")"""

PLOT = "# Plot the total point history along with the moving average\nutils.plot_history(total_point_history)"
LOGGING = "# Suppress warnings from imageio\nimport logging\nlogging.getLogger().setLevel(logging.ERROR)"
VIDEO = """filename = "./videos/lunar_lander.mp4"

utils.create_video(filename, env, q_network)
utils.embed_mp4(filename)"""

PASSED = {"name": "stdout", "output_type": "stream", "text": "\x1b[92mAll tests passed!\n"}


def course_cells(c1: str = C1_SOLVED, c2: str = C2_SOLVED, env: str = ENV, step: str = STEP,
                 imports: str = IMPORTS, after: tuple[str, ...] = ()) -> list[str]:
    """The code cells of the course's notebook, in its order."""
    return [imports, DISPLAY, HYPERPARAMETERS, env, RENDER, SIZES, RESET, step, c1, C1_TEST, EXPERIENCE, c2,
            C2_TEST, AGENT_LEARN, TRAIN, PLOT, LOGGING, VIDEO, *after]


def write(path: Path, cells: list[str], stale_outputs: bool = False) -> Path:
    """A notebook of markdown headings and ``cells``; the unit-test cells say "All tests passed!" if stale."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_markdown_cell("# Deep Q-Learning - Lunar Lander"))
    for count, source in enumerate(cells, start=1):
        cell = nbformat.v4.new_code_cell(source, execution_count=count)
        if stale_outputs and source.startswith("# UNIT TEST"):
            cell.outputs = [nbformat.v4.new_output(**PASSED)]
        notebook.cells.append(cell)
    nbformat.write(notebook, path)
    return path


def without_markers(source: str) -> str:
    """A graded cell with its ``UNQ`` / ``GRADED`` / ``START/END CODE HERE`` lines removed."""
    drop = ("# UNQ_", "# GRADED", "### START CODE HERE", "### END CODE HERE")
    return "\n".join(line for line in source.splitlines() if not line.strip().startswith(drop))


GYMNASIUM_PORT = {
    "imports": IMPORTS.replace("import gym\n", "import gymnasium as gym\n").replace(
        "from pyvirtualdisplay import Display\n", ""),
    "env": "env = gym.make('LunarLander-v3')",
    "step": STEP.replace("next_state, reward, done, _ = env.step(action)",
                         "next_state, reward, terminated, truncated, _ = env.step(action)\n"
                         "done = terminated or truncated"),
}


def variants(folder: Path) -> dict[str, Path]:
    """The course-format notebooks this module knows, written into ``folder``, by name."""
    crash = "q_network.save('lunar_lander_model.h5')\nbroken_video = utils.create_video(undefined_filename, env)"
    return {
        "solved": write(folder / "solved.ipynb", course_cells()),
        "blank": write(folder / "blank.ipynb", course_cells(C1_BLANK, C2_BLANK)),
        "stale": write(folder / "stale.ipynb", course_cells(C1_BLANK, C2_BLANK), stale_outputs=True),
        "crashing": write(folder / "crashing.ipynb", course_cells(after=(crash, "raise KeyboardInterrupt"))),
        "partly": write(folder / "partly.ipynb", course_cells(C1_SOLVED, C2_WRONG)),
        "no_markers": write(folder / "no_markers.ipynb",
                            course_cells(without_markers(C1_SOLVED), without_markers(C2_SOLVED))),
        "gymnasium": write(folder / "gymnasium.ipynb", course_cells(**GYMNASIUM_PORT)),
    }


LEGACY_IMPORTS = IMPORTS.replace("from tensorflow.keras import Sequential", "from tensorflow.python.keras import Sequential") \
    .replace("from tensorflow.keras.layers import Dense, Input", "from tensorflow.python.keras.layers import Dense, Input") \
    .replace("from tensorflow.keras.optimizers import Adam", "from tensorflow.python.keras.optimizers import Adam")
REAL_COPIES = {
    "gymnasium_v2": {**GYMNASIUM_PORT, "env": "env = gym.make('LunarLander-v2', render_mode='rgb_array')"},
    "keras_losses_mse": {"imports": IMPORTS.replace("from tensorflow.keras.losses import MSE",
                                                    "from keras.losses import MSE")},
    "tf_keras_mean_squared_error": {"c2": C2_SOLVED.replace("MSE(y_targets, q_values)",
                                                            "tf.keras.losses.mean_squared_error(y_targets, q_values)")},
    "adam_lr": {"c1": C1_SOLVED.replace("Adam(learning_rate=ALPHA)", "Adam(lr=ALPHA)")},
    "input_int": {"c1": C1_SOLVED.replace("Input(shape=state_size)", "Input(8)")},
    "legacy_keras": {"imports": LEGACY_IMPORTS},
    "blank_then_solved": {"c2": C2_BLANK, "after": (C2_SOLVED.replace("# UNQ_C2\n# GRADED FUNCTION: calculate_loss\n", ""),)},
}
"""Classes of notebook that learners really submitted (issue 36): each one's changes to :func:`course_cells`."""


def real_copy(folder: Path, name: str) -> Path:
    """The course-format notebook of :data:`REAL_COPIES` ``name``, written into ``folder``."""
    changes = dict(REAL_COPIES[name])
    after = changes.pop("after", ())
    cells = course_cells(**changes)
    if after:  # the learner's own cell right after the graded cell's unit test
        at = cells.index(C2_TEST) + 1
        cells = cells[:at] + list(after) + cells[at:]
    return write(folder / f"{name}.ipynb", cells)
