"""The error types that the command-line front ends turn into one line and exit code 2, and the warning line."""


class UserError(Exception):
    """Bad input: the command-line front ends print its message on one line and exit with 2."""


class OutputError(UserError):
    """A file of the run could not be written (a full disk, a lost folder): the message names the
    file, the cause and the last good checkpoint."""


def warn(text: str) -> None:
    """A warning about the user's files: on stderr, even when the run is quiet."""
    import sys

    print(text, file=sys.stderr, flush=True)
