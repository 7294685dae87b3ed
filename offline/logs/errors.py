"""The one exception type for bad input: its message is shown to the user as is, on one line."""


class InputError(Exception):
    """A log file, folder or command-line option that the report cannot use."""


def run_command(prog: str, main) -> int:
    """Run a command's `main()`: bad input is one line on stderr and exit status 2."""
    import sys

    try:
        return main()
    except InputError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    except SystemExit as done:  # --help
        return int(done.code or 0)
