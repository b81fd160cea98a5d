"""Grade a learner's lab notebook with the graded tests of ``public_tests``: ``lunar-grade``."""
