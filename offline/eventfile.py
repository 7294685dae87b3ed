"""Reading the fields that training needs from botify's event log files.

The A/B report's reader (offline.reading) keeps the fields the report uses and drops `track`;
training needs the track, so this reader parses the same files with its own schema, counting the
lines it cannot use instead of failing on them.

Each file is parsed whole by polars' NDJSON reader; a file that it rejects (a line that is not
JSON) is read again line by line, so that only the lines at fault are lost. A final line without a
newline that does not parse is a write cut off by copying a live log: it is counted on its own.
A usable line is a JSON object with `message` ("next" or "last"), integer `timestamp`, `user` and
`track`, and a finite `time` (the listened fraction); other fields are not needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import ujson

from offline.errors import InputError

SCHEMA = {
    "message": pl.String,
    "timestamp": pl.Int64,
    "user": pl.Int64,
    "track": pl.Int64,
    "time": pl.Float64,
}
MAX_EXAMPLES = 3


@dataclass
class FileEvents:
    """The usable events of one file and an account of the rest."""

    events: pl.DataFrame  # SCHEMA's columns and `line` (1-based)
    lines: int  # non-blank lines, a cut final line excluded
    bad: int
    bad_examples: list[str] = field(default_factory=list)
    cut_final_line: bool = False


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _row(line: bytes) -> tuple | None:
    """The fields of one line, or None when the line is not a usable event."""
    try:
        record = ujson.loads(line)
    except (ValueError, OverflowError):
        return None
    if not isinstance(record, dict):
        return None
    values = [record.get(name) for name in ("message", "timestamp", "user", "track", "time")]
    message, timestamp, user, track, time = values
    if message not in ("next", "last") or not all(map(_is_int, (timestamp, user, track))):
        return None
    if not isinstance(time, int | float) or isinstance(time, bool) or not math.isfinite(time):
        return None
    if not all(-(2**63) <= v < 2**63 for v in (timestamp, user, track)):
        return None
    return message, timestamp, user, track, float(time)


def _parse_lines(lines: list[bytes]) -> tuple[pl.DataFrame, list[int]]:
    """Rows of the usable lines (with their numbers) and the numbers of the others."""
    rows, numbers, bad = [], [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        row = _row(line)
        if row is None:
            bad.append(number)
        else:
            rows.append(row)
            numbers.append(number)
    frame = pl.DataFrame(rows, schema=SCHEMA, orient="row").with_columns(
        line=pl.Series(numbers, dtype=pl.Int64)
    )
    return frame, bad


def _usable() -> pl.Expr:
    return (
        pl.all_horizontal(pl.col(name).is_not_null() for name in SCHEMA)
        & pl.col("message").is_in(["next", "last"])
        & pl.col("time").is_finite()
    )


def read_event_file(path: Path) -> FileEvents:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
    body, tail = data, b""
    cut = data.rfind(b"\n") + 1
    if cut < len(data) and data[cut:].strip():
        body, tail = data[:cut], data[cut:]
    lines = body.split(b"\n")[:-1] if body.endswith(b"\n") else body.split(b"\n")
    filled = sum(1 for line in lines if line.strip())
    frame = None
    if filled == len(lines):  # no blank line: row i is line i + 1
        try:
            frame = pl.read_ndjson(body, schema=SCHEMA, ignore_errors=True) if body else None
        except pl.exceptions.PolarsError:
            frame = None
        if frame is not None and frame.height == len(lines):
            frame = frame.with_columns(line=pl.int_range(1, frame.height + 1, dtype=pl.Int64))
            bad_rows = frame.filter(~_usable())
            bad = bad_rows["line"].to_list()
            frame = frame.filter(_usable())
        else:
            frame = None
    if frame is None:
        frame, bad = _parse_lines(lines)
    cut_final = False
    if tail:
        row = _row(tail)
        if row is None:
            cut_final = True
        else:
            extra = pl.DataFrame([row], schema=SCHEMA, orient="row")
            frame = pl.concat([frame, extra.with_columns(line=pl.lit(len(lines) + 1, pl.Int64))])
            filled += 1
    examples = [f"{path}:{number}" for number in bad[:MAX_EXAMPLES]]
    return FileEvents(frame, filled, len(bad), examples, cut_final)
