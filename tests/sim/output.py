"""The simulator's stderr without its progress lines: when stderr is not a terminal (as under
pytest) sim.progress writes a plain line every few seconds and one at each day's end, so a test
of an error message reads the errors alone."""

from __future__ import annotations

import re

PROGRESS_LINE = re.compile(r"^day \d+: [\d,]+/[\d,]+ sessions(?: \(\d+%\))?, \d+ s\n", re.M)


def errors(stderr: str) -> str:
    return PROGRESS_LINE.sub("", stderr)
