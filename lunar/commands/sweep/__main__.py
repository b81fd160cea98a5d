"""``python -m lunar.commands.sweep``: the same as ``lunar-sweep``."""

import sys

from lunar.commands.sweep.cli import sweep_main

sys.exit(sweep_main())
