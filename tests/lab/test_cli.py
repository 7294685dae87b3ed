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


def test_experiment_help_lists_the_learning_loop_and_its_options_need_days():
    result = run("experiment", "--help")
    assert result.returncode == 0
    loop = result.stdout[result.stdout.index("the learning loop:") :]
    options = ("--days N", "--explore EXPLORE", "--explore-first", "--train OPTIONS", "--truth")
    for option in (*options, "--training {pooled,isolated}"):
        assert option in loop
    # listed, but only the loop takes them: never ignored without --days
    refused = run("experiment", "--explore", "0.1", "--quick")
    assert refused.returncode == 2
    assert "--explore is an option of the learning loop: add --days N" in refused.stderr
    # with --days, the loop's own parser (as before)
    loop_help = run("experiment", "--days", "3", "--help")
    assert loop_help.returncode == 0 and "usage: botify experiment --days" in loop_help.stdout


def test_simday_help_names_the_botify_command():
    result = run("simday", "--help")
    assert result.returncode == 0 and result.stdout.startswith("usage: botify simday ")
    assert "python -m lab.simday" not in result.stdout
