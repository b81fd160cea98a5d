"""Bad input for the tabular command line: one line on stderr, exit code 2."""


class UserError(Exception):
    """A request that cannot be carried out as given."""
