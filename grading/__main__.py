"""``python -m grading``: the same as ``lunar-grade``."""

from grading.cli import main

raise SystemExit(main())
