"""The course's A/B analysis script, as its homework grader runs it from the repository root:

    python analyze_ab.py --data DIR --output PATH [--experiment NAME] [--alpha 0.05]

A thin entry into `botify ab` (offline/report/ab.py), which does all the work: it reads every
event log under DIR (the course's DIR/<replica>/data.json as well as botify's events.jsonl and
its rotated backups), judges the alphabetically first experiment named in the events unless
--experiment names one, writes the grader's ab_result.json at PATH (PATH/ab_result.json when PATH
is an existing folder or ends with a slash; missing folders are created) and botify's full report
(report.md, effects.csv, charts) in the folder `report` beside it. The report is also printed.
Bad input: one line on stderr naming it, exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from offline.logs.errors import InputError, run_command
from offline.logs.logfiles import find_log_files
from offline.report import ab

PROG = "analyze_ab.py"
JSON_NAME = "ab_result.json"
REPORT_FOLDER = "report"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = ab.ArgumentParser(
        prog=PROG,
        description="The course's A/B analysis on botify: the grader's ab_result.json and "
        "botify ab's full report.",
    )
    parser.add_argument(
        "--data", required=True, metavar="DIR", help="the logs: DIR/<replica>/data.json, ..."
    )
    parser.add_argument(
        "--output",
        required=True,
        metavar="PATH",
        help=f"the grader's file ({JSON_NAME} inside PATH when PATH is a folder)",
    )
    parser.add_argument(
        "--experiment",
        metavar="NAME",
        help="the experiment to judge (default: the alphabetically first in the logs)",
    )
    parser.add_argument(
        "--alpha",
        type=ab.alpha_value,
        default=0.05,
        metavar="A",
        help="1 - confidence level of the intervals (0.05)",
    )
    return parser.parse_args(argv)


def json_path(text: str) -> Path:
    path = Path(text)
    if path.is_dir() or text.endswith(("/", os.sep)):
        return path / JSON_NAME
    return path


def ab_argv(args: argparse.Namespace) -> list[str]:
    """`botify ab`'s arguments for these options; creates the output's folder."""
    find_log_files([args.data])  # a missing or empty DIR fails before anything is created
    output = json_path(args.output)
    if output.is_dir():
        raise InputError(f"--output {output} is a folder")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(
            f"cannot create the folder {output.parent} of --output: {error.strerror or error}"
        ) from None
    argv = ["--course-json", str(output), "--out", str(output.parent / REPORT_FOLDER)]
    argv += ["--alpha", repr(args.alpha)]
    if args.experiment is not None:
        argv += ["--experiment", args.experiment]
    return [*argv, "--", args.data]  # "--": a DIR that starts with "-" is still the DIR


def main(argv: list[str]) -> int:
    return run_command(PROG, lambda: ab.run(ab.parse_args(ab_argv(parse_args(argv)))))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
