"""Score a trained model and render it: ``python evaluate.py --help``."""

import sys

from lunar.commands.cli import evaluate_main

if __name__ == "__main__":
    sys.exit(evaluate_main())
