"""`botify logs compact LOG --out DIR`: a log's JSON lines as Parquet, partitioned by replica
folder and day (offline.logs.compacted's format), a piece at a time, and again as the log grows.

    botify logs compact log/ --out compacted/
    botify ab compacted/ --experiment AB          # the same report as on log/
    botify train compacted/ --catalog ...         # the same files

Each run adds only what is new since the last: files not seen before, and the lines appended to
those seen (the live file grows, then rotation renames it: a file is known by its first line, so
a renamed backup is not compacted again). What was written is never rewritten; a run with nothing
new writes nothing. Every line is counted as botify ab and botify train count it: a line that is
not a JSON object is counted and named here, the others are kept and judged by each reader with
its own fields (a missing field, an impossible value, a duplicate), so that the report on DIR
says what the report on LOG says. A final line without its newline that does not parse (a line
being written) is left for the next run and named as cut, as the report names it.

Memory: one piece of a file (64 MiB of JSON lines) and its rows.

Bad input, one line and exit status 2: LOG missing or without log files; DIR a file, or a
folder that holds something else or another log's compaction; a file shorter than what was
compacted from it (it was replaced: compact into a new folder).
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from botify.lognames import LOST_FILE
from offline.logs.compacted import (
    ALL_FIELDS,
    FORMAT,
    MANIFEST,
    load_manifest,
    replica_label,
)
from offline.logs.errors import InputError, run_command
from offline.logs.logfiles import find_log_files
from offline.logs.losses import loss_records
from offline.logs.pieces import PIECE_BYTES, pieces_of
from offline.logs.reading import MAX_EXAMPLES, reading_schema

LOCK = ".compact.lock"
MAX_FIRST_LINE = 1 << 20  # a first line longer than this is not an event: known by its start


@dataclass
class Summary:
    files: int = 0  # log files found
    new_files: int = 0  # of which never compacted before
    lines: int = 0  # new lines that should hold events
    rows: int = 0  # rows written
    parquet_files: int = 0
    unreadable: int = 0  # new lines that are not JSON objects
    unreadable_examples: list[str] = field(default_factory=list)
    cut: list[str] = field(default_factory=list)  # final lines left for the next run

    def text(self, out: Path) -> str:
        files = f"{self.files} log file{'' if self.files == 1 else 's'}"
        if not self.lines:
            said = f"{files}, nothing new since the last run: {out} unchanged"
        else:
            said = (
                f"{files} ({self.new_files} new), {self.lines:,} new lines: "
                f"{self.rows:,} rows written to {self.parquet_files} Parquet files in {out}"
            )
        if self.unreadable:
            said += (
                f"; {self.unreadable:,} lines that are not JSON objects, counted and left out "
                f"(e.g. {', '.join(self.unreadable_examples)})"
            )
        if self.cut:
            said += f"; a cut final line left for the next run in: {', '.join(self.cut)}"
        return said


def first_line(path: Path) -> bytes | None:
    """The file's first line with its newline (or its first MAX_FIRST_LINE bytes), None when it
    has no whole line yet."""
    try:
        with path.open("rb") as handle:
            start = handle.read(MAX_FIRST_LINE)
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
    end = start.find(b"\n") + 1
    if end:
        return start[:end]
    return start if len(start) == MAX_FIRST_LINE else None


def new_manifest(log: str) -> dict:
    return {
        "format": FORMAT,
        "log": log,
        "runs": 0,
        "sources": [],
        "files": [],
        "unreadable": [],
        "lost": {},
    }


def open_out(out: Path, log: str) -> dict:
    """The folder's manifest (a new one for an empty or missing folder)."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder")
    if (out / MANIFEST).is_file():
        manifest = load_manifest(out)
        if manifest["log"] != log:
            raise InputError(
                f"--out {out} holds the compaction of {manifest['log']}, not of {log}: "
                "compact each log into its own folder"
            )
        return manifest
    if out.is_dir() and any(name != LOCK for name in os.listdir(out)):
        raise InputError(f"--out {out} is not empty and not a compacted folder")
    return new_manifest(log)


def remove_strays(out: Path, manifest: dict) -> None:
    """Parquet files that the manifest does not list: a run stopped before it wrote the
    manifest. Readers go by the manifest; Spark reads every file of the folder."""
    listed = {entry["path"] for entry in manifest["files"] + manifest["unreadable"]}
    for path in out.rglob("*.parquet"):
        if path.relative_to(out).as_posix() not in listed:
            path.unlink()


def write_manifest(out: Path, manifest: dict) -> None:
    temporary = out / f".{MANIFEST}.new"
    temporary.write_text(json.dumps(manifest, indent=1) + "\n")
    os.replace(temporary, out / MANIFEST)


def compact(log: str, out: Path, piece_bytes: int = PIECE_BYTES) -> Summary:
    files = find_log_files([log])
    try:
        out.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError(f"--out {out} is a file; give a folder") from None
    except OSError as error:
        raise InputError(f"cannot write to --out {out}: {error.strerror or error}") from None
    with (out / LOCK).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one run at a time
        manifest = open_out(out, log)
        remove_strays(out, manifest)
        summary = compact_files(files, Path(log), out, manifest, piece_bytes)
        if summary.lines or summary.new_files or not manifest["runs"]:
            manifest["runs"] += 1
            write_manifest(out, manifest)
    return summary


def compact_files(
    files: list[Path], log: Path, out: Path, manifest: dict, piece_bytes: int
) -> Summary:
    root = log if log.is_dir() else log.parent
    run = manifest["runs"] + 1
    sources: list[dict] = manifest["sources"]
    summary = Summary(files=len(files))
    matched: set[int] = set()
    fields = reading_schema(ALL_FIELDS)
    for path in files:
        start = first_line(path)
        folder = path.parent.relative_to(root).as_posix() if log.is_dir() else "."
        if start is None:  # nothing whole yet: a file just created
            summary.cut.append(str(path))
            continue
        fingerprint = hashlib.sha256(start).hexdigest()
        source = next(
            (
                s
                for s in sources
                if s["folder"] == folder
                and s["fingerprint"] == fingerprint
                and s["id"] not in matched
            ),
            None,
        )
        if source is None:
            source = {
                "id": len(sources),
                "path": str(path),
                "folder": folder,
                "order": len(sources),
                "fingerprint": fingerprint,
                "offset": 0,
                "next_line": 1,
                "lines": 0,
                "rows": 0,
                "unreadable": 0,
                "truncated": False,
            }
            sources.append(source)
            summary.new_files += 1
        matched.add(source["id"])
        source["path"] = str(path)
        size = path.stat().st_size
        if size < source["offset"]:
            raise InputError(
                f"{path} is shorter ({size:,} bytes) than what was compacted from it "
                f"({source['offset']:,}): it is not the file compacted then; compact the log "
                "into a new folder"
            )
        compact_source(path, source, run, out, manifest, fields, piece_bytes, summary)
    for directory in dict.fromkeys(path.parent.resolve() for path in files):
        lost = directory / LOST_FILE
        if lost.is_file():
            key = directory.relative_to(root.resolve()).as_posix() if log.is_dir() else "."
            manifest["lost"][key] = loss_records(lost)
    return summary


def compact_source(
    path: Path,
    source: dict,
    run: int,
    out: Path,
    manifest: dict,
    fields: dict,
    piece_bytes: int,
    summary: Summary,
) -> None:
    """The lines of one file from where the last run stopped."""
    if path.stat().st_size == source["offset"]:
        source["truncated"] = False
        return
    replica = f"replica={replica_label(source['folder'], manifest['log'])}"
    unreadable: list[tuple[int, str]] = []
    pieces = pieces_of([(path, source["offset"], source["next_line"])], fields, piece_bytes)
    for number, piece in enumerate(pieces):
        day = pl.from_epoch("timestamp", "ms").dt.strftime("%Y-%m-%d").fill_null("unknown")
        rows = piece.rows.with_columns(source=pl.lit(source["id"], pl.Int32), day=day)
        for (value,), part in rows.partition_by("day", as_dict=True, include_key=False).items():
            relative = f"{replica}/day={value}/{source['id']}-{run}-{number}.parquet"
            (out / relative).parent.mkdir(parents=True, exist_ok=True)
            part.write_parquet(out / relative, compression="zstd")
            manifest["files"].append(
                {"path": relative, "source": source["id"], "rows": part.height}
            )
            summary.parquet_files += 1
        unreadable += piece.unparsed
        source["offset"], source["next_line"] = piece.end, piece.next_line
        source["lines"] += piece.lines
        source["rows"] += piece.rows.height
        source["truncated"] = piece.truncated
        summary.lines += piece.lines
        summary.rows += piece.rows.height
    if unreadable:
        relative = f"unreadable/{source['id']}-{run}.parquet"
        (out / "unreadable").mkdir(exist_ok=True)
        lines = pl.DataFrame(
            unreadable, schema={"line": pl.Int64, "reason": pl.String}, orient="row"
        )
        lines.write_parquet(out / relative)
        manifest["unreadable"].append({"path": relative, "source": source["id"]})
        source["unreadable"] += len(unreadable)
        summary.unreadable += len(unreadable)
        room = MAX_EXAMPLES - len(summary.unreadable_examples)
        summary.unreadable_examples += [f"{path}:{n} ({why})" for n, why in unreadable[:room]]
    if source["truncated"]:
        summary.cut.append(str(path))


def main(argv: list[str]) -> int:
    return run_command("botify logs", lambda: run(argv))


def run(argv: list[str]) -> int:
    parser = CommandParser(prog="botify logs", description="Work on botify's event logs.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    compacting = commands.add_parser(
        "compact",
        help="the log as Parquet, partitioned by replica and day; a re-run adds what is new",
        description="A log's JSON lines as Parquet partitioned by replica folder and day "
        "(botify ab and botify train read the folder as they read the log); a re-run adds "
        "only what is new.",
    )
    compacting.add_argument(
        "log", metavar="LOG", help="the log: a folder (one per replica) or a file"
    )
    compacting.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="the Parquet folder"
    )
    args = parser.parse_args(argv)
    summary = compact(args.log, args.out)
    print(f"botify logs compact: {summary.text(args.out)}")
    return 0


class CommandParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One line naming the option, instead of argparse's usage block.
        raise InputError(message)
