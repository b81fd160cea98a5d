"""Train the Lunar Lander Deep Q-Network: ``python train.py --help``."""

import sys

from lunar.tfsetup import import_tensorflow_quietly

import_tensorflow_quietly()

from lunar.cli import train_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(train_main())
