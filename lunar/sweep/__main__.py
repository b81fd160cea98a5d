"""``python -m lunar.sweep``: the same as ``lunar-sweep``."""

import sys

from lunar.sweep.cli import sweep_main

sys.exit(sweep_main())
