"""The one exception type for bad input: its message is shown to the user as is, on one line."""


class InputError(Exception):
    """A log file, folder or command-line option that the report cannot use."""
