"""Reading botify's event logs into one table, counting every line that cannot be used.

Each file is parsed whole by polars' NDJSON reader, which is fast; only a file that it rejects
(a corrupt line) is split into chunks, and only a chunk that fails is checked line by line, so
that the exact lines at fault are counted and named while the rest of the file is kept.

What counts as a line: blank lines are ignored (the service never writes one). A final line that
has no newline and does not parse is a write cut off by copying a live log: it is reported on its
own and not counted against the bad-line limit. Every other line must be a JSON object with the
fields its reader asks for (`schema`), each of the type that botify.events gives it: a float
field must be a finite number and `experiments` (read as its JSON text) an object. Other fields
are not needed and not checked, except those that no event the service writes can hold out of
range (RANGED, read for the check whatever the reader asks for, and checked where present): an
impossible value makes the line unusable, as a malformed one does. The A/B report's fields
(SCHEMA, the default) are `message`, `timestamp`, `user`, `time`, `latency` and `experiments`;
training asks for `track` instead of `latency` and `experiments` (offline.learn.listens).

What is skipped is counted by kind (KINDS), with the file:line of the first few of each kind:
- unreadable: not JSON, not an object, a required field missing or of the wrong type;
- `message` other than botify.events.MESSAGES ("next", "last");
- `time` (the listened fraction) outside [0, 1];
- a negative `user`, `track` or `recommendation` (ids are never negative; a null
  `recommendation`, as on /last, is fine);
- a duplicate: a line whose full content (every byte, not only the fields read) is that of an
  earlier usable line of the files read, such as a log folder collected twice or a backup that
  is also kept under another name. The first copy is kept. Each line is known by two 64-bit
  hashes of its content (polars' hash with two seeds), so two different lines are taken for
  one with a probability of about n^2 / 2^129 for n lines: never, in practice. A copy of an
  unusable line is counted unusable again.

Decision: unreadable lines and impossible values are the unusable lines (`Log.bad`), the share
that --max-bad-lines limits: an impossible value is a corrupt event, as a torn line is.
Duplicates are reported and dropped but do not count toward that share and never fail a run:
they lose nothing, and a folder collected twice would otherwise fail by its size alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from botify.events import FIELDS, MESSAGES
from offline.logs.errors import InputError

Schema = dict[str, pl.DataType]

# The polars type each of the event's Python types is read as. An object (`experiments`) is kept
# as its JSON text: the few distinct values are decoded once, in Python.
DTYPES: dict[type, pl.DataType] = {
    int: pl.Int64(),
    float: pl.Float64(),
    str: pl.String(),
    dict: pl.String(),
    list: pl.List(pl.String()),
}


def event_schema(names: list[str]) -> Schema:
    """The reading schema of the event's fields `names`, from botify.events.FIELDS."""
    return {name: DTYPES[FIELDS[name]] for name in names}


# The A/B report's fields.
SCHEMA = event_schema(["message", "timestamp", "user", "time", "latency", "experiments"])
# Each field checked for impossible values wherever an event has it, whatever the reader asks
# for: the value no event the service writes can hold, and the reason a line of it is given.
IMPOSSIBLE: dict[str, tuple[pl.Expr, str]] = {
    "message": (
        ~pl.col("message").is_in(list(MESSAGES)),
        f"'message' is neither {' nor '.join(MESSAGES)}",
    ),
    "user": (pl.col("user") < 0, "negative 'user'"),
    "track": (pl.col("track") < 0, "negative 'track'"),
    "time": (~pl.col("time").is_between(0.0, 1.0), "'time' outside [0, 1]"),
    "recommendation": (pl.col("recommendation") < 0, "negative 'recommendation'"),
}
RANGED = event_schema(list(IMPOSSIBLE))
SPLIT = 8  # parts a rejected range of lines is split into
LINE_BY_LINE = 64  # lines few enough to judge one by one
MAX_EXAMPLES = 5
HASHES = ("hash_1", "hash_2")  # two hashes of each line's content, for duplicates

# What a skipped line is, by kind, as the reports name them; in the order they print.
UNREADABLE, DUPLICATE = "unreadable", "duplicate"
KINDS = {
    UNREADABLE: "unreadable lines",
    "message": f"lines with a 'message' other than {' and '.join(MESSAGES)}",
    "time": "lines with 'time' outside [0, 1]",
    "user": "lines with a negative 'user'",
    "track": "lines with a negative 'track'",
    "recommendation": "lines with a negative 'recommendation'",
    DUPLICATE: "duplicate lines (the same as an earlier line)",
}
# The reason given for a line of each kind of impossible value.
RANGE_REASONS = {name: reason for name, (_, reason) in IMPOSSIBLE.items()}


@dataclass(frozen=True)
class BadLine:
    file: Path | str  # a path, or a source named by an engine (hdfs://...)
    line: int
    reason: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def __str__(self) -> str:
        return f"{self.where} ({self.reason})"

    def named(self, kind: str) -> str:
        """As a report names it under its kind: with its reason where the kind does not say all."""
        return self.where if RANGE_REASONS.get(kind) == self.reason else str(self)


@dataclass
class Skipped:
    """The lines of one kind that were left out: how many, and the first few in reading order."""

    lines: int = 0
    examples: list[BadLine] = field(default_factory=list)


class LineCounts:
    """What a log's line counts say, for the reader's Log and every engine's LogAccount."""

    lines: int
    bad: int
    skipped: dict[str, Skipped]

    @property
    def bad_share(self) -> float:
        return self.bad / self.lines if self.lines else 0.0

    @property
    def duplicates(self) -> int:
        return self.skipped[DUPLICATE].lines if DUPLICATE in self.skipped else 0

    @property
    def skipped_lines(self) -> int:
        return self.bad + self.duplicates


@dataclass
class Log(LineCounts):
    """The usable events of a set of files, and an account of what was not usable."""

    # seq (reading order) and the schema's columns (`experiments` as its JSON text)
    events: pl.DataFrame
    files: list[Path]
    lines: int  # lines expected to hold an event: blank lines and cut final lines excluded
    bad: int  # unusable lines: unreadable or impossible (every kind but duplicates)
    bad_examples: list[BadLine] = field(default_factory=list)
    # every line left out, by kind (KINDS, in that order), duplicates included
    skipped: dict[str, Skipped] = field(default_factory=dict)
    truncated: list[Path] = field(default_factory=list)
    # the decoded `experiments` objects, by their JSON text (when the schema reads them)
    experiment_objects: dict[str, dict] = field(default_factory=dict)

    def experiment_names(self) -> dict[str, int]:
        """Each experiment named in the log, with the number of events that carry it."""
        counts = self.events.group_by("experiments").len()
        names: dict[str, int] = {}
        for text, n in counts.iter_rows():
            for name in self.experiment_objects[text]:
                names[name] = names.get(name, 0) + n
        return dict(sorted(names.items()))


def time_span(events: pl.DataFrame) -> tuple[int, int]:
    """The first and last `timestamp` (ms) of a table that holds events."""
    first, last = events.select(first=pl.min("timestamp"), last=pl.max("timestamp")).row(0)
    return int(first), int(last)


def parse_ndjson(data: bytes, schema: Schema) -> pl.DataFrame | None:
    """The rows polars reads from `data`, or None when a line is not JSON at all."""
    try:
        return pl.read_ndjson(data, schema=schema, ignore_errors=True)
    except pl.exceptions.PolarsError:
        return None


def json_error(line: bytes) -> str | None:
    """Why one line is not a JSON object, or None when it is."""

    def reject(constant: str) -> None:
        raise ValueError(constant)

    try:
        value = json.loads(line, parse_constant=reject)
    except (ValueError, UnicodeDecodeError):
        return "not valid JSON"
    return None if isinstance(value, dict) else "not a JSON object"


def parse_line_by_line(
    lines: list[bytes], numbers: list[int], schema: Schema
) -> tuple[list[pl.DataFrame], list]:
    """Rows of a few non-blank lines that polars rejected together, and (line number, reason)
    for each line that is not JSON."""
    bad = []
    keep_lines, keep_numbers = [], []
    for line, number in zip(lines, numbers, strict=True):
        reason = json_error(line)
        if reason:
            bad.append((number, reason))
        else:
            keep_lines.append(line)
            keep_numbers.append(number)
    frame = parse_ndjson(b"\n".join(keep_lines), schema) if keep_lines else None
    if frame is not None and frame.height == len(keep_lines):
        return [frame.with_columns(line=pl.Series(keep_numbers, dtype=pl.Int64))], bad
    # Python's parser and polars' disagree on some line: let polars judge each line alone.
    frames = []
    for line, number in zip(keep_lines, keep_numbers, strict=True):
        one = parse_ndjson(line, schema)
        if one is not None and one.height == 1:
            frames.append(one.with_columns(line=pl.lit(number, dtype=pl.Int64)))
        else:
            bad.append((number, "not valid JSON"))
    return frames, bad


def line_bounds(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Start and end offsets of each line (without its newline)."""
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0x0A)
    starts = np.r_[0, newlines + 1]
    ends = np.r_[newlines, len(data)]
    if data.endswith(b"\n"):
        starts, ends = starts[:-1], ends[:-1]
    return starts, ends


def filled_lines(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """1-based numbers, start and end offsets of the lines that are not blank."""
    starts, ends = line_bounds(data)
    buf = np.frombuffer(data, dtype=np.uint8)
    length = ends - starts
    lone_cr = (length == 1) & (buf[np.minimum(starts, len(data) - 1)] == 0x0D)
    filled = (length > 0) & ~lone_cr
    return np.flatnonzero(filled) + 1, starts[filled], ends[filled]


def parse_slowly(data: bytes, schema: Schema) -> tuple[pl.DataFrame, list, int]:
    """Rows, (line number, reason) of unparseable lines and the number of non-blank lines, for
    data that polars could not read in one piece. The lines are split into SPLIT parts, each
    read by polars; a part that polars rejects is split again, down to LINE_BY_LINE lines that
    are judged one by one. A few bad lines cost about two extra reads of the file."""
    numbers, starts, ends = filled_lines(data)
    frames: list[pl.DataFrame] = []
    bad: list = []

    def parse_range(begin: int, stop: int, whole_failed: bool) -> None:
        if not whole_failed:
            # Blank lines between are skipped by polars as they are in `numbers`.
            frame = parse_ndjson(data[starts[begin] : ends[stop - 1]], schema)
            if frame is not None and frame.height == stop - begin:
                line = pl.Series(numbers[begin:stop], dtype=pl.Int64)
                frames.append(frame.with_columns(line=line))
                return
        if stop - begin <= LINE_BY_LINE:
            bounds = zip(starts[begin:stop].tolist(), ends[begin:stop].tolist(), strict=True)
            lines = [data[s:e] for s, e in bounds]
            chunk_frames, chunk_bad = parse_line_by_line(
                lines, numbers[begin:stop].tolist(), schema
            )
            frames.extend(chunk_frames)
            bad.extend(chunk_bad)
            return
        step = -(-(stop - begin) // SPLIT)
        for part in range(begin, stop, step):
            parse_range(part, min(part + step, stop), False)

    if len(numbers):
        parse_range(0, len(numbers), True)
    frame = pl.concat(frames) if frames else empty_frame(schema)
    return frame, bad, len(numbers)


def empty_frame(schema: Schema) -> pl.DataFrame:
    return pl.DataFrame(schema={**schema, "line": pl.Int64})


def line_hashes(data: bytes) -> pl.DataFrame:
    """HASHES of the content of each line of `data` (row i: line i + 1), by polars."""
    try:
        text = pl.Series([data], dtype=pl.Binary).cast(pl.String)
    except pl.exceptions.PolarsError:  # not UTF-8: such lines are unreadable anyway
        text = pl.Series([data.decode("utf-8", "replace")])
    line = pl.lit(text).str.split("\n").explode()
    return pl.select(line.hash(1).alias(HASHES[0]), line.hash(2).alias(HASHES[1]))


# One file's parse: its rows (with `line` and HASHES), (line, reason) of the lines that are not
# JSON, the number of lines that should hold events, and whether the final line was cut off.
Parsed = tuple[pl.DataFrame, list, int, bool]


def parse_file(path: Path, schema: Schema) -> Parsed:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
    return parse_data(data, schema)


def parse_data(data: bytes, schema: Schema) -> Parsed:
    """parse_file's work on a file's bytes (or on whole lines of it: a reader that follows a
    growing file parses each new piece once; lines are numbered from 1 within `data`)."""
    body, tail = data, b""
    cut = data.rfind(b"\n") + 1
    if cut < len(data) and data[cut:].strip(b"\r \t"):
        body, tail = data[:cut], data[cut:]
    frame = parse_ndjson(body, schema)
    expected = body.count(b"\n")
    bad: list = []
    if frame is not None and frame.height == expected:
        frame = frame.with_columns(line=pl.int_range(1, expected + 1, dtype=pl.Int64))
    elif frame is not None and frame.height == len(numbers := filled_lines(body)[0]):
        # Polars skips blank lines: number the rows after the lines that are not blank.
        frame = frame.with_columns(line=pl.Series(numbers, dtype=pl.Int64))
        expected = len(numbers)
    else:
        frame, bad, expected = parse_slowly(body, schema)
    truncated = False
    if tail:
        # A complete object that merely lacks its newline is an ordinary event.
        last = parse_ndjson(tail, schema) if json_error(tail) is None else None
        tail_number = body.count(b"\n") + 1
        if last is not None and last.height == 1:
            frame = pl.concat([frame, last.with_columns(line=pl.lit(tail_number, pl.Int64))])
            expected += 1
        else:
            truncated = True
    hashes = line_hashes(data)
    at = frame["line"] - 1
    frame = frame.with_columns(hashes[name].gather(at) for name in HASHES)
    return frame, bad, expected, truncated


def invalid_reason(schema: Schema, parsed: Iterable[str]) -> pl.Expr:
    """Why a parsed row cannot be used, or null when it can (the first reason found): a field of
    `schema` missing, of the wrong type or not finite, then an impossible value in any RANGED
    field that was `parsed` (a null one, an optional field the event lacks, is not checked)."""
    checks = [(pl.col(name).is_null(), f"missing or invalid {name!r}") for name in schema]
    checks += [
        (~pl.col(name).is_finite(), f"{name!r} is not finite")
        for name, dtype in schema.items()
        if dtype == pl.Float64
    ]
    checks += [IMPOSSIBLE[name] for name in RANGED if name in parsed]
    return pl.coalesce([pl.when(condition).then(pl.lit(reason)) for condition, reason in checks])


def kind_of(reason: pl.Expr) -> pl.Expr:
    """The kind (KINDS) of a reason given by invalid_reason."""
    kinds = {text: name for name, text in RANGE_REASONS.items()}
    return reason.replace_strict(kinds, default=UNREADABLE, return_dtype=pl.String)


def skipped_by_kind(lines: pl.DataFrame, files: list[Path]) -> dict[str, Skipped]:
    """Count and first examples of each kind, from lines (file, line, reason, kind) in reading
    order."""
    counts = dict(lines.group_by("kind").len().iter_rows())
    first = lines.group_by("kind", maintain_order=True).head(MAX_EXAMPLES)
    skipped = {kind: Skipped(counts[kind]) for kind in KINDS if kind in counts}
    for file, line, reason, kind in first.select("file", "line", "reason", "kind").iter_rows():
        skipped[kind].examples.append(BadLine(files[file], line, reason))
    return skipped


def decode_experiments(texts: list[str]) -> dict[str, dict | None]:
    decoded: dict[str, dict | None] = {}
    for text in texts:
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        decoded[text] = value if isinstance(value, dict) else None
    return decoded


def with_reasons(
    events: pl.DataFrame, schema: Schema, parsed: Schema, objects: dict[str, dict | None]
) -> pl.DataFrame:
    """`events` (parsed rows) with `reason`: why each cannot be used, null when it can
    (invalid_reason, then an `experiments` that is not an object). `objects` caches the decoded
    `experiments` texts (None: not an object) and gains those of these rows."""
    if "experiments" in schema:
        texts = events["experiments"].drop_nulls().unique().to_list()
        objects.update(decode_experiments([text for text in texts if text not in objects]))
    events = events.with_columns(reason=invalid_reason(schema, parsed))
    not_objects = [text for text, value in objects.items() if value is None]
    if not_objects:
        events = events.with_columns(
            reason=pl.when(pl.col("reason").is_null() & pl.col("experiments").is_in(not_objects))
            .then(pl.lit("'experiments' is not an object"))
            .otherwise(pl.col("reason"))
        )
    return events


def read_log(files: list[Path], schema: Schema = SCHEMA, optional: Schema | None = None) -> Log:
    """Every usable event of the files, in reading order, with the schema's fields, and the
    `optional` ones where an event has them (null elsewhere: older logs lack botify's newer
    fields, and a wrong value there makes no event unusable, except an impossible one in a
    RANGED field)."""
    parsed = reading_schema(schema, optional)
    return combine(files, [parse_file(path, parsed) for path in files], schema, optional)


def reading_schema(schema: Schema = SCHEMA, optional: Schema | None = None) -> Schema:
    """The fields that read_log parses each file with: the RANGED ones are always checked."""
    return {**RANGED, **schema, **(optional or {})}


def combine(
    files: list[Path],
    parsed_files: list[Parsed],
    schema: Schema = SCHEMA,
    optional: Schema | None = None,
) -> Log:
    """read_log's Log from each file's parse (parse_data's, with reading_schema's fields), in
    reading order."""
    frames, unparsed_lines = [], []
    lines = 0
    truncated = []
    wanted = {**schema, **(optional or {})}
    parsed = reading_schema(schema, optional)
    for index, (path, parsed_file) in enumerate(zip(files, parsed_files, strict=True)):
        frame, unparsed, expected, cut = parsed_file
        lines += expected
        unparsed_lines += [(index, number, reason) for number, reason in unparsed]
        if cut:
            truncated.append(path)
        frames.append(frame.with_columns(file=pl.lit(index, pl.Int32)))
    if frames:
        events = pl.concat(frames)
    else:
        empty = empty_frame(parsed).with_columns(pl.lit(None, pl.UInt64).alias(h) for h in HASHES)
        events = empty.with_columns(file=pl.lit(0, pl.Int32))

    objects: dict[str, dict | None] = {}
    events = with_reasons(events, schema, parsed, objects)
    located = ["file", "line", "reason", "kind"]
    unusable = pl.concat(
        [
            pl.DataFrame(
                unparsed_lines,
                schema={"file": pl.Int32, "line": pl.Int64, "reason": pl.String},
                orient="row",
            ).with_columns(kind=pl.lit(UNREADABLE)),
            events.filter(pl.col("reason").is_not_null()).select(
                "file", "line", "reason", kind=kind_of(pl.col("reason"))
            ),
        ]
    ).sort("file", "line")
    first_bad = unusable.head(MAX_EXAMPLES).rows()
    bad_examples = [BadLine(files[file], line, why) for file, line, why, _ in first_bad]

    # Duplicates among the usable lines: every copy after the first of the same content. One
    # hash finds the few candidates cheaply; both decide among them. The table is filtered once
    # (a filter copies every column).
    usable = pl.col("reason").is_null()
    keys = [pl.when(usable).then(pl.col(name)).alias(name) for name in HASHES]
    events = events.with_columns(copy=usable & keys[0].is_duplicated())
    if events["copy"].any():
        events = events.with_columns(copy=usable & ~pl.struct(keys).is_first_distinct())
    copies = events.filter("copy").select(
        "file", "line", *HASHES, reason=pl.lit("duplicate"), kind=pl.lit(DUPLICATE)
    )
    skipped = skipped_by_kind(pl.concat([unusable, copies.select(located)]), files)
    if copies.height:
        originals = events.filter(usable & ~pl.col("copy")).select(*HASHES, "file", "line")
        first = copies.head(MAX_EXAMPLES).join(originals, on=list(HASHES), suffix="_first")
        skipped[DUPLICATE].examples = [
            BadLine(files[f], n, f"same as {files[of]}:{on}")
            for f, n, of, on in first.select("file", "line", "file_first", "line_first").rows()
        ]

    keep = usable & ~pl.col("copy")
    events = events.select(*wanted, keep=keep).filter("keep").drop("keep").with_row_index("seq")
    return Log(
        events=events,
        files=files,
        lines=lines,
        bad=unusable.height,
        bad_examples=bad_examples,
        skipped=skipped,
        truncated=truncated,
        experiment_objects={k: v for k, v in objects.items() if v is not None},
    )
