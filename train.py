"""Train the Lunar Lander Deep Q-Network: ``python train.py --help``."""

import sys

from lunar.commands.cli import train_main


def notebook_loader(*args):
    """``--notebook``: lunar-grade's notebook loader, imported only when a notebook is given."""
    from grading.lab import lab_code_from
    return lab_code_from(*args)


if __name__ == "__main__":
    sys.exit(train_main(lab_code_from=notebook_loader))
