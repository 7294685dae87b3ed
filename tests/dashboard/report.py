"""botify ab's own report on a log, and its tables read back, to hold the dashboard's page to."""

from __future__ import annotations

import csv
import io
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from lab.cli import main


@dataclass
class AbReport:
    arms: list[dict[str, str]]  # report.md's Arms table
    effects: list[dict[str, str]]  # its Effects table
    always_valid: list[dict[str, str]]  # its Always-valid table (--sequential)
    csv: list[dict[str, str]]  # effects.csv: the numbers at full precision
    warnings: list[str]  # "botify ab: warning: ..." lines on stderr


def table_under(text: str, heading: str) -> list[dict[str, str]]:
    """The markdown table after the line that starts with `heading`, as rows by column."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    rows = []
    for line in lines[start + 1 :]:
        if not line.startswith("|"):
            if rows:
                break
            continue
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    columns, body = rows[0], rows[2:]  # rows[1] is the alignment row
    return [dict(zip(columns, row, strict=True)) for row in body]


def botify_ab(logs: Path, out: Path, experiment: str = "AB", *options: str) -> AbReport:
    """`botify ab LOGS --experiment E --sequential --out OUT OPTIONS...`, run as the command
    runs."""
    printed, said = io.StringIO(), io.StringIO()
    arguments = ["ab", str(logs), "--experiment", experiment, "--sequential", "--out", str(out)]
    with redirect_stdout(printed), redirect_stderr(said):
        code = main([*arguments, *options])
    assert code == 0, said.getvalue()
    text = (out / "report.md").read_text()
    with open(out / "effects.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    prefix = "botify ab: warning: "
    return AbReport(
        arms=table_under(text, "## Arms"),
        effects=table_under(text, "## Effects against"),
        always_valid=table_under(text, "## Always-valid against"),
        csv=rows,
        warnings=[
            line[len(prefix) :] for line in said.getvalue().splitlines() if line.startswith(prefix)
        ],
    )
