"""Import TensorFlow without the start-up chatter of its GPU build on a CPU-only machine.

The ``tensorflow`` wheel probes for CUDA while it loads and logs through absl before
``TF_CPP_MIN_LOG_LEVEL`` takes effect. The command-line tools import it here with
the process's stderr pointed at /dev/null for the duration of the import and device
initialisation only; errors raised by the import itself still reach the user.
"""

from __future__ import annotations

import os
import sys


def import_tensorflow_quietly() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        import tensorflow as tf
        tf.config.list_physical_devices()
        tf.constant(0.0)  # initialises the devices, where the CUDA probe logs its error
    finally:
        os.dup2(saved, 2)
        os.close(saved)
