"""What a log argument names, for a reader that goes a piece at a time: the JSON lines files
and folders the service writes (offline.logs.logfiles), or one folder that `botify logs compact`
wrote (offline.logs.compacted). Either way: the sources' names in reading order, their size (to
plan the partitions), the loss records beside them, and their pieces (offline.logs.pieces)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from offline.logs import compacted
from offline.logs.account import Accountant
from offline.logs.errors import InputError
from offline.logs.logfiles import find_log_files
from offline.logs.losses import find_loss_records
from offline.logs.pieces import PIECE_BYTES, Piece, json_pieces
from offline.logs.reading import Log, Schema, read_log


@dataclass
class LogSources:
    files: list[str]  # the sources' names, in reading order
    size: int  # bytes of JSON lines they hold (for a compacted folder: about as many)
    lost: list[dict]  # the loss records beside them
    # the pieces, parsed with the given fields; what a piece does not carry is counted in the
    # accountant directly (a compacted folder's account of its lines)
    pieces: Callable[[Schema, Accountant], Iterator[Piece]]
    in_reading_order: bool = False  # the pieces come in reading order, each in line order


def compacted_folder(paths: list[str]) -> Path | None:
    """The compacted folder the paths name, None when they name JSON lines."""
    folders = [path for path in paths if compacted.is_compacted(Path(path))]
    if folders and len(paths) > 1:
        raise InputError(
            f"{folders[0]} is a compacted folder (botify logs compact): give it alone, not "
            "with other logs"
        )
    return Path(folders[0]) if folders else None


def open_sources(paths: list[str], piece_bytes: int = PIECE_BYTES) -> LogSources:
    folder = compacted_folder(paths)
    if folder is not None:
        log = compacted.open_folder(folder)
        return LogSources(log.files, log.size, log.lost, log.pieces)
    files = find_log_files(paths)
    return LogSources(
        files=[str(path) for path in files],
        size=sum(path.stat().st_size for path in files),
        lost=find_loss_records(files),
        pieces=lambda parsed, _: json_pieces(files, parsed, piece_bytes),
        in_reading_order=True,
    )


def read_whole(paths: list[str], schema: Schema, optional: Schema | None = None) -> Log:
    """The whole log in memory (offline.logs.reading.read_log's Log), from JSON lines or from
    one compacted folder, given alone."""
    folder = compacted_folder(paths)
    if folder is not None:
        return compacted.open_folder(folder).read_whole(schema, optional)
    return read_log(find_log_files(paths), schema, optional)
