"""Train the Lunar Lander Deep Q-Network: ``python train.py --help``."""

import sys

from grading.lab import train_main

if __name__ == "__main__":
    sys.exit(train_main())
