"""What reading a log found, without its events: the account every reader and engine gives.

The report prints it ("lines" row) and judges --max-bad-lines on it, whichever engine read the
events and whether they came from JSON lines or a compacted Parquet folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from offline.logs.reading import DUPLICATE, BadLine, Log, Skipped


@dataclass
class LogAccount:
    files: list[str]  # the sources read, in reading order
    lines: int  # lines expected to hold an event: blank lines and cut final lines excluded
    events: int  # usable events kept (duplicates dropped)
    bad: int  # unusable lines: unreadable or impossible (every kind but duplicates)
    bad_examples: list[BadLine] = field(default_factory=list)  # the first few, reading order
    # every line left out, by kind (offline.logs.reading.KINDS, in that order), duplicates too
    skipped: dict[str, Skipped] = field(default_factory=dict)
    truncated: list[str] = field(default_factory=list)  # files whose final line was cut
    # each experiment named in the events' `experiments`, with the number of events naming it
    experiments: dict[str, int] = field(default_factory=dict)

    @property
    def bad_share(self) -> float:
        return self.bad / self.lines if self.lines else 0.0

    @property
    def duplicates(self) -> int:
        return self.skipped[DUPLICATE].lines if DUPLICATE in self.skipped else 0

    @property
    def skipped_lines(self) -> int:
        return self.bad + self.duplicates


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
        experiments=log.experiment_names() if "experiments" in log.events.columns else {},
    )
