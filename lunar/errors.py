"""The one error type that means "the user asked for something impossible"."""


class UserError(Exception):
    """Bad input: the command-line front ends print its message on one line and exit with 2."""
