"""Botify's event logs as listening sessions: what each user listened to, in order, for how long.

Files and folders are found and read as the A/B report finds and reads them (offline.logs.logfiles:
rotated backups, one folder per replica; offline.logs.reading: bad lines counted, a cut final line
apart; or a folder that `botify logs compact` wrote, offline.logs.compacted), with the fields
training needs (FIELDS). Sessions are the report's (offline.logs.sessions), with the user as the
unit: events in time order, a session ends at its `last` event; the events
after a user's final `last` (the log was cut while they listened) are a session too, counted as
incomplete: their listens are real. An event's `track` is the track the user just listened to and
`time` the fraction of it listened; a session's tracks in order are its listens.

What is left out, counted, and reported (in the command's output and every meta.json):
- lines that are not a usable event, unreadable or holding an impossible value (`time` outside
  [0, 1], a negative id, an unknown `message`: offline.logs.reading), by kind with the file:line
  of the first few (above --max-bad-lines of all lines: an error);
- exact duplicate lines (a log collected twice): dropped and reported, never an error;
- events naming a track outside the catalog (above --max-unknown-tracks: an error, since the
  service never logs such a track unless the catalog changed); the listens around a dropped
  event are not taken as consecutive;
- users with a single event: one listen says nothing about what follows it;
- with an arm to learn from (`botify train --experiment NAME --arm ARM`), every event of
  another arm, or of no arm of that experiment: an arm's models learn only from its own traffic
  (the data-diverted design), so the events are filtered before anything else is counted or
  grouped, and `experiments` becomes a required field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from offline.learn.tracks import Tracks
from offline.logs.account import LogAccount as ReadAccount
from offline.logs.errors import InputError
from offline.logs.reading import KINDS, Log, event_schema, time_span
from offline.logs.sessions import mark_sessions
from offline.logs.sources import read_whole

# The fields of an event that training uses; `latency` and `experiments` are not required
# (`experiments` is, when training learns from one arm's traffic).
FIELDS = event_schema(["message", "timestamp", "user", "track", "time"])
WITH_ARMS = event_schema(["message", "timestamp", "user", "track", "time", "experiments"])
MAX_EXAMPLES = 3


@dataclass
class Listens:
    """One row per listen, ordered by session and position. Sessions are numbered 0..S-1 in
    order of (user, start); `track` is the catalog's dense index."""

    user: np.ndarray  # int64 user id
    session: np.ndarray  # int64
    position: np.ndarray  # int64 place in the session as logged (dropped events leave gaps)
    track: np.ndarray  # int64 dense track index
    time: np.ndarray  # float32 listened fraction
    timestamp: np.ndarray  # int64 ms

    def __len__(self) -> int:
        return len(self.track)

    @property
    def n_sessions(self) -> int:
        return int(self.session[-1]) + 1 if len(self.session) else 0

    def subset(self, keep: np.ndarray) -> Listens:
        """The listens where `keep` is true, sessions renumbered 0..S'-1 in the same order."""
        session = self.session[keep]
        _, renumbered = np.unique(session, return_inverse=True)
        return Listens(
            self.user[keep],
            renumbered.astype(np.int64),
            self.position[keep],
            self.track[keep],
            self.time[keep],
            self.timestamp[keep],
        )

    def session_starts(self) -> np.ndarray:
        """The first timestamp of each session."""
        starts = np.full(self.n_sessions, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(starts, self.session, self.timestamp)
        return starts


@dataclass
class LogAccount:
    """What the logs held and what was left out of training."""

    files: list[str]
    lines: int = 0
    bad_lines: int = 0  # unusable: unreadable or impossible
    bad_examples: list[str] = field(default_factory=list)
    # every line left out by kind (offline.logs.reading.KINDS), duplicates included
    skipped_lines: dict[str, int] = field(default_factory=dict)
    skipped_examples: dict[str, list[str]] = field(default_factory=dict)  # file:line
    cut_final_lines: list[str] = field(default_factory=list)
    events: int = 0  # usable events read
    unknown_track_events: int = 0
    unknown_track_examples: list[int] = field(default_factory=list)
    single_event_users: int = 0
    listens: int = 0  # events kept for training
    users: int = 0
    sessions: int = 0
    incomplete_sessions: int = 0
    first_ms: int | None = None
    last_ms: int | None = None
    arm: str | None = None  # "EXPERIMENT=ARM": only that arm's events were read
    other_arm_events: int = 0  # events left out as another arm's (or of no arm of it)

    def summary(self) -> str:
        parts = [
            f"{self.listens:,} listens",
            f"{self.users:,} users",
            f"{self.sessions:,} sessions ({self.incomplete_sessions:,} incomplete)",
            f"from {len(self.files)} files",
        ]
        skipped = [
            (n, f"{KINDS[kind]} (e.g. {', '.join(self.skipped_examples[kind])})")
            for kind, n in self.skipped_lines.items()
        ]
        if self.arm is not None:
            skipped.append((self.other_arm_events, f"events not of arm {self.arm}"))
        skipped += [
            (self.unknown_track_events, "events with tracks outside the catalog"),
            (self.single_event_users, "users with a single event"),
            (len(self.cut_final_lines), "cut final lines"),
        ]
        notes = [f"{n:,} {what}" for n, what in skipped if n]
        return ", ".join(parts) + (f"; skipped {', '.join(notes)}" if notes else "")


def account_of_reading(read: Log | ReadAccount, max_bad_lines: float) -> LogAccount:
    """The training account of what a reader (either engine's) found; above --max-bad-lines
    unusable lines, an error naming the first few."""
    account = LogAccount(
        files=[str(f) for f in read.files],
        lines=read.lines,
        bad_lines=read.bad,
        bad_examples=[b.where for b in read.bad_examples[:MAX_EXAMPLES]],
        cut_final_lines=[str(f) for f in read.truncated],
        skipped_lines={kind: s.lines for kind, s in read.skipped.items()},
        skipped_examples={
            kind: [b.where for b in s.examples[:MAX_EXAMPLES]] for kind, s in read.skipped.items()
        },
    )
    if account.lines and account.bad_lines / account.lines > max_bad_lines:
        raise InputError(
            f"{account.bad_lines:,} of {account.lines:,} log lines "
            f"({account.bad_lines / account.lines:.2%}) are not usable events, above "
            f"--max-bad-lines {max_bad_lines:g}: {', '.join(account.bad_examples)}"
        )
    return account


def read_events(
    paths: list[str], max_bad_lines: float, arm: tuple[str, str] | None = None
) -> tuple[pl.DataFrame, LogAccount]:
    """All usable events of the files with `seq` (reading order), and the account so far.
    `arm` (experiment, arm): only the events of that arm."""
    log = read_whole(paths, FIELDS if arm is None else WITH_ARMS)  # JSON lines, or compacted
    account = account_of_reading(log, max_bad_lines)
    events = log.events
    if not events.height:
        raise InputError(f"no events in {', '.join(paths)}")
    if arm is not None:
        events = of_arm(log, arm)
        account.arm = "=".join(arm)
        account.other_arm_events = log.events.height - events.height
    account.events = events.height
    return events, account


def of_arm(log: Log, arm: tuple[str, str]) -> pl.DataFrame:
    """The log's events in arm `arm` = (experiment, arm); an experiment or arm that the log
    never names is an error naming those it does (a typo must not train on nothing)."""
    experiment, name = arm
    names = log.experiment_names()
    if experiment not in names:
        found = ", ".join(names) or "none"
        raise InputError(
            f"experiment {experiment!r} is not in the logs; experiments found: {found}"
        )
    labels = {text: arms.get(experiment) for text, arms in log.experiment_objects.items()}
    if name not in labels.values():
        found = ", ".join(sorted({str(a) for a in labels.values() if a is not None}))
        raise InputError(f"arm {name!r} of {experiment} is not in the logs; arms found: {found}")
    texts = [text for text, label in labels.items() if label == name]
    return log.events.filter(pl.col("experiments").is_in(texts)).drop("experiments")


def read_listens(
    paths: list[str],
    tracks: Tracks,
    max_bad_lines: float = 0.01,
    max_unknown_tracks: float = 0.01,
    arm: tuple[str, str] | None = None,
) -> tuple[Listens, LogAccount]:
    """`arm` (experiment, arm): learn only from that arm's events."""
    events, account = read_events(paths, max_bad_lines, arm)
    account.first_ms, account.last_ms = time_span(events)

    per_user = events.group_by("user").len()
    single = per_user.filter(pl.col("len") == 1)["user"]
    account.single_event_users = single.len()
    events = events.filter(~pl.col("user").is_in(single.implode()))

    # Sessions before dropping unknown tracks, so that a dropped event cannot merge two sessions.
    events = mark_sessions(events, ["user"])
    index = tracks.index_of(events["track"].to_numpy())
    unknown = index < 0
    account.unknown_track_events = int(unknown.sum())
    if unknown.any():
        account.unknown_track_examples = [
            int(t) for t in np.unique(events["track"].to_numpy()[unknown])[:MAX_EXAMPLES]
        ]
        share = unknown.mean()
        if share > max_unknown_tracks:
            examples = ", ".join(map(str, account.unknown_track_examples))
            raise InputError(
                f"{unknown.sum():,} of {len(unknown):,} events ({share:.2%}) name tracks that "
                f"are not in the catalog {tracks.path} (e.g. {examples}), above "
                f"--max-unknown-tracks {max_unknown_tracks:g}: is it the catalog the service "
                "served?"
            )
    events = events.with_columns(track_index=pl.Series(index)).filter(pl.col("track_index") >= 0)
    if not events.height:
        raise InputError(f"no usable listens in {', '.join(paths)} (every user has a single event)")

    sessions = events.group_by("session").agg(pl.col("complete").first())
    account.sessions = sessions.height
    account.incomplete_sessions = int((~sessions["complete"]).sum())
    account.users = events["user"].n_unique()
    account.listens = events.height
    session = events["session"].to_numpy()
    _, session = np.unique(session, return_inverse=True)  # renumber after the drops
    listens = Listens(
        user=events["user"].to_numpy().astype(np.int64),
        session=session.astype(np.int64),
        position=events["position"].to_numpy().astype(np.int64),
        track=events["track_index"].to_numpy().astype(np.int64),
        time=np.clip(events["time"].to_numpy(), 0.0, 1.0).astype(np.float32),
        timestamp=events["timestamp"].to_numpy().astype(np.int64),
    )
    return listens, account
