"""Score a trained model and render it: ``python evaluate.py --help``."""

import sys

from lunar.tfsetup import import_tensorflow_quietly

import_tensorflow_quietly()

from lunar.cli import evaluate_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(evaluate_main())
