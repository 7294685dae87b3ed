"""Progress of a day's sessions: a bar on a terminal, and elsewhere (a log file, a pipe) a plain
line every few seconds, so that a long run shows it is alive wherever its output goes. A bar's
redraws would fill a file with control characters; no output at all leaves a log silent for
minutes."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from tqdm import tqdm

EVERY_SECONDS = 5.0


class PlainProgress:
    """One line every `every` seconds while sessions complete, and one when the day ends."""

    def __init__(
        self,
        total: int,
        label: str,
        stream: TextIO,
        every: float = EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total, self.label, self.stream = total, label, stream
        self.every, self.clock = every, clock
        self.done = 0
        self.started = self.shown = clock()

    def update(self, done: int = 1) -> None:
        self.done += done
        now = self.clock()
        if now - self.shown >= self.every:
            self.shown = now
            self.line(now)

    def line(self, now: float) -> None:
        share = f" ({self.done / self.total:.0%})" if self.total else ""
        print(
            f"{self.label}: {self.done:,}/{self.total:,} sessions{share}, "
            f"{now - self.started:.0f} s",
            file=self.stream,
            flush=True,
        )

    def close(self) -> None:
        self.line(self.clock())


@contextmanager
def progress(
    total: int, label: str, stream: TextIO | None = None
) -> Iterator[Callable[[int], None]]:
    """The day's progress callback (sessions done since the last call), on `stream` (stderr)."""
    stream = sys.stderr if stream is None else stream
    if stream.isatty():
        with tqdm(total=total, desc=label, unit="session", file=stream) as bar:
            yield bar.update
        return
    plain = PlainProgress(total, label, stream)
    try:
        yield plain.update
    finally:
        plain.close()
