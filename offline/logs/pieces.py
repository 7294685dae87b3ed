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
from concurrent.futures import ThreadPoolExecutor
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


Block = tuple[int, bytes]  # (file index, bytes read; b"" at the file's end)


def blocks(files: list[tuple[Path, int]], piece_bytes: int) -> Iterator[Block]:
    """Each file's bytes from its start offset, piece_bytes at a time, then b"" at its end."""
    for index, (path, start) in enumerate(files):
        try:
            with path.open("rb") as handle:
                handle.seek(start)
                while block := handle.read(piece_bytes):
                    yield index, block
        except OSError as error:
            raise InputError(f"cannot read {path}: {error.strerror or error}") from None
        yield index, b""


def read_ahead(items: Iterator[Block]) -> Iterator[Block]:
    """The items, each read by a thread while the caller works on the one before: reading a
    file waits on the disk, parsing the one before keeps the cores busy meanwhile."""
    end = (-1, b"")
    with ThreadPoolExecutor(1, thread_name_prefix="read-ahead") as pool:
        coming = pool.submit(next, items, end)
        while (item := coming.result()) is not end:
            coming = pool.submit(next, items, end)
            yield item


def pieces_of(
    files: list[tuple[Path, int, int]], parsed: Schema, piece_bytes: int = PIECE_BYTES
) -> Iterator[Piece]:
    """The pieces of JSON lines files, each (path, start offset, number of the line there),
    parsed with the fields `parsed`; the pieces' `file` is the file's index in `files`."""
    starts = [(path, start) for path, start, _ in files]
    carry, first_line, start = b"", files[0][2] if files else 1, files[0][1] if files else 0
    for index, block in read_ahead(blocks(starts, piece_bytes)):
        data = carry + block
        if block:
            cut = data.rfind(b"\n") + 1
            if not cut:  # no whole line yet
                carry = data
                continue
            data, carry = data[:cut], data[cut:]
        if data:
            frame, bad, expected, truncated = parse_data(data, parsed)
            before = first_line - 1
            start += data.rfind(b"\n") + 1 if truncated else len(data)
            first_line += data.count(b"\n")
            yield Piece(
                file=index,
                rows=frame.with_columns(pl.col("line") + before),
                unparsed=[(number + before, reason) for number, reason in bad],
                lines=expected,
                truncated=truncated,
                end=start,
                next_line=first_line,
            )
        if not block and index + 1 < len(files):  # the next file
            carry, (_, start, first_line) = b"", files[index + 1]


def json_pieces(
    files: list[Path], parsed: Schema, piece_bytes: int = PIECE_BYTES
) -> Iterator[Piece]:
    return pieces_of([(path, 0, 1) for path in files], parsed, piece_bytes)


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
