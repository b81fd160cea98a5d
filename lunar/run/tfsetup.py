"""Import TensorFlow without the start-up chatter of its GPU build on a CPU-only machine,
and say in one line when the environment asks for legacy Keras.

The ``tensorflow`` wheel probes for CUDA while it loads and logs through absl before
``TF_CPP_MIN_LOG_LEVEL`` takes effect. The command-line tools import it here with
the process's stderr pointed at /dev/null for the duration of the import and device
initialisation only; errors raised by the import itself still reach the user.
"""

from __future__ import annotations

import os
import sys


# TensorFlow reads these values of TF_USE_LEGACY_KERAS as "make tf.keras Keras 2 (tf_keras)".
LEGACY_KERAS_VALUES = ("true", "True", "1")
_warned = False


def legacy_keras_message() -> str | None:
    """What to do when ``TF_USE_LEGACY_KERAS`` is set (common after the TF-Agents tutorials), else None."""
    value = os.environ.get("TF_USE_LEGACY_KERAS")
    if value not in LEGACY_KERAS_VALUES:
        return None
    return (f"TF_USE_LEGACY_KERAS={value} makes tf.keras Keras 2, but the kit and the lab use Keras 3: "
            "run `unset TF_USE_LEGACY_KERAS` (in a notebook: %env TF_USE_LEGACY_KERAS=0, then restart the kernel)")


def warn_legacy_keras() -> None:
    """Print :func:`legacy_keras_message` on stderr, once per process."""
    global _warned
    message = legacy_keras_message()
    if message and not _warned:
        _warned = True
        print(f"lunar-kit: warning: {message}", file=sys.stderr)


def import_tensorflow_quietly() -> None:
    warn_legacy_keras()
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


def enable_determinism() -> None:
    """Deterministic TensorFlow ops: the same seed repeats the same CPU run."""
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
