"""The folder that `botify logs compact` writes, and reading it: the one owner of its format.

    DIR/compacted.json                                     the manifest
    DIR/replica=<folder>/day=<YYYY-MM-DD>/<source>-<run>-<piece>.parquet
    DIR/unreadable/<source>-<run>.parquet                  lines that are not JSON objects

Rows (zstd Parquet, Hive-style partitions that Spark and polars both read): every line of the
log that is a JSON object, parsed as the readers parse it (offline.logs.reading, with every
field of botify.events.FIELDS at its reading type: a field missing or of the wrong type is null,
`experiments` its JSON text), with `source` (Int32, the source's id in the manifest), `line`
(its number in the source, from 1) and reading.HASHES (its content's hashes: duplicates).
Whether a row is a usable event is judged when it is read, by each reader's own fields, as for
JSON lines: botify ab and botify train count the same lines skipped from DIR as from the log.
`<folder>` is the replica folder, relative to the compacted LOG (its own name for files
directly in it), percent-encoded; `day` is the event's UTC day (`unknown` without a timestamp).

The manifest (JSON):
    format      1
    log         the LOG argument the folder compacts (a re-run must name the same)
    runs        compactions done so far
    sources     one per log file ever compacted, by `id`: `path` (its name when last seen:
                rotation renames the live file), `folder` (relative to LOG), `order` (when it
                was first seen: its age within its folder), `fingerprint` (sha256 of its first
                line: how a renamed file is recognised), `offset` (bytes compacted, whole lines),
                `next_line`, `lines` (lines expected to hold an event, as reading counts them),
                `rows`, `unreadable` (lines that are not JSON objects), `truncated` (its final
                line was cut: left for the next run)
    files       every Parquet file of rows: `path` (relative to DIR), `source`, `rows`
    unreadable  every Parquet file of unreadable lines (line, reason): `path`, `source`
    lost        the loss records beside the log files (lost_events.ndjson), by folder

Reading order, as offline.logs.logfiles orders the same files: folders as os.walk visits them
(sorted), then age within a folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import polars as pl

from botify.events import FIELDS
from offline.logs.account import Accountant
from offline.logs.errors import InputError
from offline.logs.pieces import Piece
from offline.logs.reading import (
    HASHES,
    Log,
    Parsed,
    Schema,
    combine,
    event_schema,
    reading_schema,
)

MANIFEST = "compacted.json"
FORMAT = 1
# Every field of the event, at its reading type: what a compacted row holds.
ALL_FIELDS = event_schema(list(FIELDS))
UNREADABLE_SCHEMA = {"line": pl.Int64, "reason": pl.String}


def is_compacted(path: Path) -> bool:
    return (path / MANIFEST).is_file()


def replica_label(folder: str, log: str) -> str:
    """The partition value of a source folder (relative to LOG): its path, LOG's own name for
    LOG itself, percent-encoded for a folder name."""
    if folder == ".":
        root = Path(log)
        folder = (root if root.is_dir() else root.parent).resolve().name or "log"
    return quote(folder, safe="")


def reading_key(source: dict) -> tuple:
    """Sources in reading order: folders as os.walk visits them sorted, then age."""
    return (Path(source["folder"]).parts, source["order"])


def load_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: not a compacted folder's manifest ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputError(f"{path}: not a manifest of format {FORMAT} (botify logs compact)")
    return manifest


@dataclass
class CompactedLog:
    folder: Path
    manifest: dict

    @property
    def sources(self) -> list[dict]:
        """The sources in reading order."""
        return sorted(self.manifest["sources"], key=reading_key)

    @property
    def rank(self) -> dict[int, int]:
        """Each source id's index in reading order."""
        return {source["id"]: index for index, source in enumerate(self.sources)}

    @property
    def files(self) -> list[str]:
        return [source["path"] for source in self.sources]

    @property
    def size(self) -> int:
        """The JSON lines bytes compacted."""
        return sum(int(source["offset"]) for source in self.manifest["sources"])

    @property
    def lost(self) -> list[dict]:
        """Every loss record, folders in reading order."""
        folders = dict.fromkeys(source["folder"] for source in self.sources)
        records = self.manifest.get("lost", {})
        return [record for folder in folders for record in records.get(folder, [])]

    def read(self, entry: dict, columns: list[str]) -> pl.DataFrame:
        path = self.folder / entry["path"]
        try:
            return pl.scan_parquet(path).select(columns).collect()
        except (OSError, pl.exceptions.PolarsError) as error:
            raise InputError(f"cannot read {path}: {error}") from None

    def unreadable_lines(self, source: int) -> pl.DataFrame:
        frames = [
            self.read(entry, list(UNREADABLE_SCHEMA))
            for entry in self.manifest.get("unreadable", [])
            if entry["source"] == source
        ]
        return pl.concat(frames) if frames else pl.DataFrame(schema=UNREADABLE_SCHEMA)

    def pieces(self, parsed: Schema, accountant: Accountant) -> Iterator[Piece]:
        """The rows, one Parquet file a piece (the columns `parsed` asks for, scanned lazily),
        and each source's account of its lines as a piece without rows."""
        rank = self.rank
        columns = [*parsed, "line", *HASHES]
        for source in self.sources:
            unreadable = self.unreadable_lines(source["id"])
            yield Piece(
                file=rank[source["id"]],
                rows=empty_rows(parsed),
                unparsed=unreadable.rows(),
                lines=int(source["lines"]),
                truncated=bool(source["truncated"]),
            )
        for entry in self.manifest["files"]:
            yield Piece(rank[entry["source"]], self.read(entry, columns), [], 0, False)

    def read_whole(self, schema: Schema, optional: Schema | None = None) -> Log:
        """The whole log in memory, as offline.logs.reading.read_log reads JSON lines."""
        wanted = reading_schema(schema, optional)
        columns = [*wanted, "line", *HASHES]
        parsed_files: list[Parsed] = []
        for source in self.sources:
            frames = [
                self.read(entry, columns)
                for entry in self.manifest["files"]
                if entry["source"] == source["id"]
            ]
            rows = pl.concat(frames).sort("line") if frames else empty_rows(wanted)
            unreadable = self.unreadable_lines(source["id"]).rows()
            parsed_files.append((rows, unreadable, int(source["lines"]), bool(source["truncated"])))
        files: list[Path] = [Path(name) for name in self.files]
        return combine(files, parsed_files, schema, optional)


def empty_rows(parsed: Schema) -> pl.DataFrame:
    return pl.DataFrame(schema={**parsed, "line": pl.Int64, **dict.fromkeys(HASHES, pl.UInt64)})


def open_folder(folder: Path) -> CompactedLog:
    return CompactedLog(folder, load_manifest(folder))
