"""lunar: the course's Deep Q-Learning Lunar Lander lab, in Keras 3 and Gymnasium 1.x.

The course's public names are here: ``compute_loss``, ``DQNAgent.agent_learn``,
``update_target_network``; ``utils.py`` at the repository root holds the course's
helper functions over this package. Names load lazily, so importing a submodule
that needs no TensorFlow does not start it.
"""

import os
from importlib import import_module
from typing import Any

# A 64-unit network is too small to gain from TensorFlow's CPU thread pools: with one
# thread an update skips the hand-offs between threads and training runs ~10% faster,
# with the same numbers. Takes effect when lunar is imported before TensorFlow; set
# these variables yourself to choose otherwise.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

_EXPORTS = {
    "DQNAgent": "lunar.agent", "update_target_network": "lunar.agent",
    "DQNConfig": "lunar.config", "UserError": "lunar.errors",
    "compute_loss": "lunar.losses", "q_learning_loss": "lunar.losses",
    "build_q_network": "lunar.agent", "create_networks": "lunar.agent",
    "ReplayMemory": "lunar.replay", "experience": "lunar.replay",
    "TrainResult": "lunar.training", "train": "lunar.training", "run_episode": "lunar.training",
    "Run": "lunar.run.state",
    "evaluate": "lunar.reports.evaluation",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'lunar' has no attribute {name!r}")
