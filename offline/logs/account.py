"""What reading a log found, without its events: the account every reader and engine gives.

The report prints it ("lines" row) and judges --max-bad-lines on it, whichever engine read the
events and whether they came from JSON lines or a compacted Parquet folder. `Accountant` keeps
it for a log read in pieces (offline.logs.pieces): counts, and the first few lines of each kind
in reading order, nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from offline.logs.reading import DUPLICATE, KINDS, MAX_EXAMPLES, BadLine, LineCounts, Log, Skipped


@dataclass
class LogAccount(LineCounts):
    files: list[str]  # the sources read, in reading order
    lines: int  # lines expected to hold an event: blank lines and cut final lines excluded
    events: int  # usable events kept (duplicates dropped)
    bad: int  # unusable lines: unreadable or impossible (every kind but duplicates)
    bad_examples: list[BadLine] = field(default_factory=list)  # the first few, reading order
    # every line left out, by kind (offline.logs.reading.KINDS, in that order), duplicates too
    skipped: dict[str, Skipped] = field(default_factory=dict)
    truncated: list[str] = field(default_factory=list)  # files whose final line was cut
    # the experiments named in the usable events' `experiments`, sorted
    experiments: list[str] = field(default_factory=list)


def account_of(log: Log) -> LogAccount:
    """The account of a log read whole by offline.logs.reading.read_log."""
    return LogAccount(
        files=[str(path) for path in log.files],
        lines=log.lines,
        events=log.events.height,
        bad=log.bad,
        bad_examples=log.bad_examples,
        skipped=log.skipped,
        truncated=[str(path) for path in log.truncated],
        experiments=list(log.experiment_names()) if "experiments" in log.events.columns else [],
    )


# A duplicate line as a partition finds it: (file, line, file of its first copy, line of it),
# files by their index in reading order.
Copy = tuple[int, int, int, int]


class Accountant:
    """The account of a log read in pieces. Pieces may come in any order: of each kind the
    lines kept as examples are the first few in reading order among all met so far."""

    def __init__(self, files: list[str]) -> None:
        self.files = files
        self.lines = 0
        self.usable = 0  # usable lines, duplicates included
        self.bad = 0
        self.counts: dict[str, int] = {}
        # (file, line, reason): the first few of each kind, and of all unusable lines
        self.first: dict[str, list[tuple[int, int, str]]] = {}
        self.first_bad: list[tuple[int, int, str]] = []
        self.truncated: set[int] = set()
        self.experiments: set[str] = set()
        self.objects: dict[str, dict | None] = {}  # decoded `experiments` texts
        self.duplicates = 0
        self.copies: list[Copy] = []

    def unusable(self, file: int, lines: pl.DataFrame) -> None:
        """Unusable lines of file `file`: line, reason, kind."""
        self.bad += lines.height
        for (kind,), part in lines.partition_by("kind", as_dict=True).items():
            self.counts[kind] = self.counts.get(kind, 0) + part.height
            first = part.sort("line").head(MAX_EXAMPLES).select("line", "reason").rows()
            met = self.first.get(kind, []) + [(file, line, why) for line, why in first]
            self.first[kind] = sorted(met)[:MAX_EXAMPLES]
        first = lines.sort("line").head(MAX_EXAMPLES).select("line", "reason").rows()
        met = self.first_bad + [(file, line, why) for line, why in first]
        self.first_bad = sorted(met)[:MAX_EXAMPLES]

    def found_copies(self, count: int, first: list[Copy]) -> None:
        """Duplicates found in one partition: how many, and its first few."""
        self.duplicates += count
        self.copies = sorted(self.copies + first)[:MAX_EXAMPLES]

    def bad_line(self, file: int, line: int, reason: str) -> BadLine:
        return BadLine(self.files[file], line, reason)

    def account(self, events: int | None = None) -> LogAccount:
        """The account; `events`: usable events kept once duplicates are dropped (before that,
        every usable line)."""
        skipped = {
            kind: Skipped(self.counts[kind], [self.bad_line(*met) for met in self.first[kind]])
            for kind in KINDS
            if kind in self.counts
        }
        if self.duplicates:
            examples = [
                self.bad_line(f, n, f"same as {self.files[of]}:{on}")
                for f, n, of, on in self.copies
            ]
            skipped[DUPLICATE] = Skipped(self.duplicates, examples)
        return LogAccount(
            files=self.files,
            lines=self.lines,
            events=self.usable if events is None else events,
            bad=self.bad,
            bad_examples=[self.bad_line(*met) for met in self.first_bad],
            skipped=skipped,
            truncated=[self.files[index] for index in sorted(self.truncated)],
            experiments=sorted(self.experiments),
        )
