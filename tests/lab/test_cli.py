"""The `botify` command line (lab.cli): every part's commands behind one entry point."""

from tests.conftest import run_module


def run(*args):
    return run_module("lab", *args)


def test_botify_lists_its_commands():
    for args in ((), ("--help",)):
        result = run(*args)
        assert result.returncode == 0
        commands = ("serve", "load", "world", "sim", "ab", "plan", "train", "experiment", "runs")
        for command in commands:
            assert f"  {command} " in result.stdout
    unknown = run("frobnicate")
    assert unknown.returncode == 2 and "unknown command" in unknown.stderr
