"""The `botify` command line (lab.cli): every part's commands behind one entry point."""

import subprocess
import sys

from tests.conftest import ROOT


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "lab", *args], cwd=ROOT, capture_output=True, text=True
    )


def test_botify_lists_its_commands():
    for args in ((), ("--help",)):
        result = run(*args)
        assert result.returncode == 0
        for command in ("serve", "load", "world", "sim", "ab", "train", "experiment"):
            assert f"  {command} " in result.stdout
    unknown = run("frobnicate")
    assert unknown.returncode == 2 and "unknown command" in unknown.stderr
