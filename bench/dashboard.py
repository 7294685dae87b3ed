"""How fast does `botify dashboard` refresh on a long run? Its reader and its state, timed.

    .venv/bin/python bench/dashboard.py [--users 6000] [--appends 5]

A synthetic day (lab.synthetic: `--users` users, about 34 events each, two replicas' folders)
is written, then read as the dashboard reads it: the first refresh parses every byte; each of
`--appends` later refreshes follows 0.2% more events appended to the live files, and parses
only those bytes; a refresh with nothing new parses none. Each refresh is timed with the state
that follows it (botify ab's report on every event read, lab.dashboard.judge), and beside them
botify ab's reading of the same files from scratch (offline.logs.reading.read_log), which is
what a page that re-read its logs would pay at every refresh. Medians over the appends.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from lab.dashboard.judge import Judging, judge
from lab.dashboard.tail import LogTail
from lab.synthetic import json_lines, make_users, simulate, to_frame
from offline.logs.logfiles import find_log_files
from offline.logs.reading import read_log
from offline.report.serving import SERVING_FIELDS


def timed(work) -> tuple[float, object]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=6_000)
    parser.add_argument("--appends", type=int, default=5)
    args = parser.parse_args()

    events = simulate(make_users(args.users, seed=0), {"AB": 2, "AA": 2}, seed=1)
    lines = json_lines(to_frame(events)).splitlines(keepends=True)
    step = max(len(lines) // 500, 1)  # 0.2% of the events per append
    first = len(lines) - step * args.appends
    with tempfile.TemporaryDirectory() as scratch:
        folders = [Path(scratch) / f"replica-{k}" for k in range(2)]
        for k, folder in enumerate(folders):
            folder.mkdir()
            (folder / "events.jsonl").write_bytes(b"".join(lines[k:first:2]))
        tail = LogTail([scratch], optional=SERVING_FIELDS)

        def refresh():
            tail.refresh()
            return tail.log()

        seconds, log = timed(refresh)
        state_seconds, _ = timed(lambda: judge(log, "AB", Judging()))
        print(f"{len(lines):,} events, {sum(len(line) for line in lines) / 1e6:.1f} MB in all")
        print(
            f"first refresh: {seconds:.2f} s reading {tail.counts.bytes_parsed / 1e6:.1f} MB "
            f"({first:,} events), state {state_seconds:.2f} s"
        )
        reads, states, rereads, parsed = [], [], [], []
        for k in range(args.appends):
            start = first + k * step
            for j, folder in enumerate(folders):
                with open(folder / "events.jsonl", "ab") as file:
                    file.write(b"".join(lines[start + j : start + step : 2]))
            seconds, log = timed(refresh)
            reads.append(seconds)
            parsed.append(tail.counts.last_new_bytes)
            states.append(timed(lambda log=log: judge(log, "AB", Judging()))[0])
            files = find_log_files([scratch])
            rereads.append(timed(lambda files=files: read_log(files, optional=SERVING_FIELDS))[0])
        idle, _ = timed(refresh)
        print(
            f"a refresh after {step:,} new events (median of {args.appends}): "
            f"{statistics.median(reads):.2f} s reading {statistics.median(parsed) / 1e3:.0f} kB, "
            f"state {statistics.median(states):.2f} s"
        )
        print(
            f"a refresh with nothing new: {idle:.2f} s reading {tail.counts.last_new_bytes} bytes"
        )
        print(
            f"botify ab's reading of the same files from scratch: "
            f"{statistics.median(rereads):.2f} s"
        )


if __name__ == "__main__":
    main()
