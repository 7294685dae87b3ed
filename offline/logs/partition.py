"""A log's usable rows partitioned by user on disk, so that each user's events can be taken
together (sessions need a user's events in order) without holding the whole log in memory.

Rows (offline.logs.pieces.usable_rows') are appended to one Arrow file per partition, a user's
rows always to the same one (a hash of `user`); a partition is then read whole, in reading order
(file, line). Duplicates are found within a partition, by reading's rule (a line whose content is
that of an earlier usable line; the first copy kept): copies of a line hold the same user, so they
are in the same partition.

Memory: one partition at a time, about PARTITION_BYTES of JSON lines (a million events), one
open writer per partition, and the piece being written (by a thread, while the next is read).
"""

from __future__ import annotations

import math
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import polars as pl
import pyarrow.ipc as ipc

from offline.logs.account import Copy
from offline.logs.reading import HASHES, MAX_EXAMPLES

PARTITION_BYTES = 256 << 20
READING_ORDER = ["file", "line"]


def partition_count(log_bytes: int, partition_bytes: int = PARTITION_BYTES) -> int:
    return max(1, math.ceil(log_bytes / partition_bytes))


class Partitions:
    """Parquet files under `folder`, one per partition (the folder is the caller's to remove)."""

    def __init__(self, folder: Path, count: int, in_reading_order: bool = False) -> None:
        self.paths = [folder / f"users-{k}.arrow" for k in range(count)]
        self.writers: list[ipc.RecordBatchFileWriter | None] = [None] * count
        self.in_reading_order = in_reading_order  # rows are written in reading order
        # one writing thread: a piece is written while the next is parsed; one piece at a time
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="partitions")
        self.writing: Future | None = None

    def write(self, rows: pl.DataFrame) -> None:
        """Append each row to its user's partition (by the writing thread)."""
        if rows.height:
            self.wait()
            self.writing = self.pool.submit(self.append, rows)

    def append(self, rows: pl.DataFrame) -> None:
        count = len(self.paths)
        parts = {(0,): rows}
        if count > 1:
            keyed = rows.with_columns(partition=pl.col("user").hash(23) % count)
            parts = keyed.partition_by("partition", as_dict=True, include_key=False)
        for (k, *_), part in parts.items():
            table = part.to_arrow()
            writer = self.writers[k]
            if writer is None:
                # Arrow's own format, lz4: a third of the time Parquet takes (no encoding)
                options = ipc.IpcWriteOptions(compression="lz4")
                writer = ipc.new_file(self.paths[k], table.schema, options=options)
                self.writers[k] = writer
            writer.write_table(table)

    def wait(self) -> None:
        """Until the piece being written is (its error raised here)."""
        if self.writing is not None:
            writing, self.writing = self.writing, None
            writing.result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self.pool.shutdown()
            for writer in self.writers:
                if writer is not None:
                    writer.close()

    def __len__(self) -> int:
        return len(self.paths)

    def read(self, k: int) -> pl.DataFrame | None:
        """Partition k's rows in reading order, None when it has none."""
        if self.writers[k] is None:
            return None
        rows = pl.scan_ipc(self.paths[k]).collect()
        return rows if self.in_reading_order else rows.sort(READING_ORDER)


def drop_duplicates(rows: pl.DataFrame) -> tuple[pl.DataFrame, int, list[Copy]]:
    """Rows in reading order without the copies of an earlier row (same HASHES), how many were
    dropped, and the first few (file, line, file and line of the first copy)."""
    if not rows[HASHES[0]].is_duplicated().any():  # one hash finds the few candidates cheaply
        return rows, 0, []
    copy = ~pl.struct(HASHES).is_first_distinct()
    rows = rows.with_columns(copy=copy)
    copies = rows.filter("copy")
    first = copies.head(MAX_EXAMPLES).join(
        rows.filter(~pl.col("copy")).select(*HASHES, *READING_ORDER),
        on=list(HASHES),
        suffix="_first",
    )
    examples = [
        (int(file), int(line), int(file_first), int(line_first))
        for file, line, file_first, line_first in first.select(
            "file", "line", "file_first", "line_first"
        ).iter_rows()
    ]
    return rows.filter(~pl.col("copy")).drop("copy"), copies.height, sorted(examples)
