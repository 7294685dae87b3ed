"""What `botify dashboard PATH...` follows: log folders, one run, or a runs folder.

- log files or folders (botify ab's LOG arguments): their events, as given;
- a run folder of `botify experiment` (config.day1.json in it, lab.runs): its newest day's logs
  (logs/day2 once day 2 has begun, else logs/day1), judged on the experiment that day's config
  routes (botify experiment's `botify ab --experiment ... --config config.dayN.json`);
- a learning loop's folder (`botify experiment --days N`, days-<start time>): likewise its
  newest day, and the trajectory of the days judged so far;
- a runs folder (holding run folders, as runs/): the registry (botify runs) and the newest run
  by start time, followed as above; a run started later is picked up.

The days and the newest run are looked up again at every refresh, so a run that moves on to its
next day, or a new run, is followed without a restart.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from botify.lognames import is_log_name
from lab.runs import is_run, start_time
from offline.logs.errors import InputError
from offline.logs.logfiles import find_log_files

LOGS, RUN, DAYS, RUNS = "logs", "run", "days", "runs"
DAY_FOLDER = re.compile(r"day(\d+)")


@dataclass(frozen=True)
class Source:
    kind: str  # LOGS, RUN, DAYS or RUNS
    paths: list[str]  # as given
    folder: Path | None = None  # the run or runs folder (symlinks resolved)


@dataclass(frozen=True)
class Followed:
    """What to read at one refresh."""

    logs: list[str]  # botify ab's LOG arguments
    run: Path | None = None  # the run followed, if any
    day: int | None = None  # its day being read
    config: Path | None = None  # that day's config (its routing experiment, its own links)
    waiting: str | None = None  # why there is nothing to read yet


def has_logs(folder: Path) -> bool:
    return any(is_log_name(path.name) for path in folder.rglob("*") if path.is_file())


def resolve(paths: list[str]) -> Source:
    """The kind of what was given. Raises InputError naming what is wrong with it."""
    if not paths:
        raise InputError("give a log folder, a run folder or a runs folder to follow")
    for text in paths:
        if not Path(text).exists():
            raise InputError(f"no such file or folder: {text}")
    if len(paths) == 1 and Path(paths[0]).is_dir():
        folder = Path(paths[0]).resolve()  # runs/latest is a link to a run folder
        if is_run(folder):
            return Source(DAYS if start_time(folder.name)[1] else RUN, paths, folder)
        if any(is_run(child) for child in folder.iterdir()):
            return Source(RUNS, paths, folder)
    try:
        find_log_files(paths)
    except InputError as error:
        raise InputError(
            f"{error}; nor is it a run folder (one with a config.day1.json, as botify "
            "experiment writes) or a runs folder (one holding run folders)"
        ) from None
    return Source(LOGS, paths)


def days_of(run: Path) -> list[int]:
    """The days whose log folder a run has begun, in order."""
    folder = run / "logs"
    if not folder.is_dir():
        return []
    days = (DAY_FOLDER.fullmatch(path.name) for path in folder.iterdir() if path.is_dir())
    return sorted(int(match[1]) for match in days if match)


def newest_run(folder: Path) -> Path | None:
    runs = [path for path in folder.iterdir() if is_run(path)]
    if not runs:
        return None

    def started(path: Path) -> tuple[float, str]:
        date = start_time(path.name)[0]
        when = date.timestamp() if date else (path / "config.day1.json").stat().st_mtime
        return when, path.name

    return max(runs, key=started)


def follow_run(run: Path) -> Followed:
    days = [day for day in days_of(run) if has_logs(run / "logs" / f"day{day}")]
    if not days:
        return Followed([], run, waiting=f"no event log yet under {run / 'logs'}")
    day = days[-1]
    config = run / f"config.day{day}.json"
    return Followed(
        [str(run / "logs" / f"day{day}")], run, day, config if config.is_file() else None
    )


def followed(source: Source) -> Followed:
    """What to read now."""
    if source.kind == LOGS:
        return Followed(source.paths)
    assert source.folder is not None
    if source.kind == RUNS:
        run = newest_run(source.folder)
        if run is None:
            return Followed([], waiting=f"no run in {source.folder} any more")
        return follow_run(run)
    return follow_run(source.folder)


def routing_experiment(config: Path | None) -> str | None:
    """The experiment a day's config routes users by, if it says."""
    if config is None:
        return None
    try:
        name = json.loads(config.read_text()).get("routing_experiment")
    except (OSError, ValueError, AttributeError):
        return None
    return name if isinstance(name, str) else None
