"""``python -m tabular --help``."""

import sys

from tabular.cli import main

sys.exit(main())
