"""A log read in pieces of bounded size, every line counted as offline.logs.reading counts it.

reading.read_log reads each file whole into memory; this reads the same files a piece at a
time: a JSON lines file in runs of whole lines of about PIECE_BYTES (a final line cut off by a
copy is known only in the file's last piece, as read_log knows it). Each piece is parsed and
judged by reading's own code (parse_data, with_reasons); the Accountant (offline.logs.account)
keeps what was left out. What comes out of `usable_rows` is each piece's usable rows with
`file` (the source's index in reading order), `line` and reading.HASHES (the line content's
hashes: duplicates are found later, among the rows of one user, offline.logs.partition).

Memory: a piece's bytes and its parsed rows, whatever the size of the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from offline.logs.account import Accountant
from offline.logs.errors import InputError
from offline.logs.reading import (
    HASHES,
    UNREADABLE,
    Schema,
    kind_of,
    parse_data,
    reading_schema,
    with_reasons,
)

PIECE_BYTES = 64 << 20


@dataclass
class Piece:
    """Parsed lines of one source: the rows polars read, and the lines that are not JSON."""

    file: int  # the source's index in reading order
    rows: pl.DataFrame  # the reading schema's fields, `line` (1-based in the file), HASHES
    unparsed: list[tuple[int, str]]  # (line, reason) of lines that are not JSON objects
    lines: int  # lines expected to hold an event
    truncated: bool  # the file's final line was cut off (its last piece only)
    end: int = 0  # the byte offset in the file after the lines parsed (before a cut final line)
    # the number of the line that starts at `end` (a final line without its newline, parsed or
    # cut, keeps its number: what is appended to it is its end)
    next_line: int = 1


def file_pieces(
    file: int,
    path: Path,
    parsed: Schema,
    piece_bytes: int = PIECE_BYTES,
    start: int = 0,
    first_line: int = 1,
) -> Iterator[Piece]:
    """The pieces of one JSON lines file, parsed with the fields `parsed`, from byte `start`
    (the beginning of line `first_line`) to its end."""
    try:
        handle = path.open("rb")
        handle.seek(start)
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
    with handle:
        carry = b""
        while True:
            try:
                block = handle.read(piece_bytes)
            except OSError as error:
                raise InputError(f"cannot read {path}: {error.strerror or error}") from None
            data = carry + block
            if block:
                cut = data.rfind(b"\n") + 1
                if not cut:  # no whole line yet
                    carry = data
                    continue
                data, carry = data[:cut], data[cut:]
            elif not data:
                return
            frame, bad, expected, truncated = parse_data(data, parsed)
            before = first_line - 1
            start += data.rfind(b"\n") + 1 if truncated else len(data)
            first_line += data.count(b"\n")
            yield Piece(
                file=file,
                rows=frame.with_columns(pl.col("line") + before),
                unparsed=[(number + before, reason) for number, reason in bad],
                lines=expected,
                truncated=truncated,
                end=start,
                next_line=first_line,
            )
            if not block:
                return


def json_pieces(
    files: list[Path], parsed: Schema, piece_bytes: int = PIECE_BYTES
) -> Iterator[Piece]:
    for index, path in enumerate(files):
        yield from file_pieces(index, path, parsed, piece_bytes)


def usable_rows(
    pieces: Iterable[Piece],
    accountant: Accountant,
    schema: Schema,
    optional: Schema | None = None,
) -> Iterator[pl.DataFrame]:
    """Each piece's usable rows: `schema`'s and `optional`'s fields, `file` (Int32), `line` and
    HASHES; the rest counted in `accountant`, as read_log counts it."""
    parsed = reading_schema(schema, optional)
    wanted = {**schema, **(optional or {})}
    for piece in pieces:
        accountant.lines += piece.lines
        if piece.truncated:
            accountant.truncated.add(piece.file)
        rows = with_reasons(piece.rows, schema, parsed, accountant.objects)
        unusable = pl.concat(
            [
                pl.DataFrame(
                    piece.unparsed, schema={"line": pl.Int64, "reason": pl.String}, orient="row"
                ).with_columns(kind=pl.lit(UNREADABLE)),
                rows.filter(pl.col("reason").is_not_null()).select(
                    "line", "reason", kind=kind_of(pl.col("reason"))
                ),
            ]
        )
        if unusable.height:
            accountant.unusable(piece.file, unusable)
        usable = rows.filter(pl.col("reason").is_null()).select(
            *wanted, "line", *HASHES, file=pl.lit(piece.file, pl.Int32)
        )
        accountant.usable += usable.height
        if "experiments" in schema:
            for text in usable["experiments"].unique().to_list():
                accountant.experiments.update(accountant.objects[text] or {})
        yield usable
