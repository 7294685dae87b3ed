"""A small log with every awkward case the report must count the same way, written byte for byte
the same on any machine (Python's `random` with a seed, `json.dumps`): the reference of the
two-step report's tests (tests/offline/test_two_step.py, test_compact.py).

tests/offline/awkward_expected/ holds `botify ab`'s outputs at commit 87c5930 (the report read
whole into memory, before the two steps) on this log, run in the folder that holds it with ARGV;
`{ROOT}` stands for that folder (the loss records are named by their absolute path).

Two replica folders, each request on a random one (a session spans both); each folder rotated
every ROTATE_LINES lines (sessions cut by rotation); users whose arm changed; a user's final
session left open; events of one user in the same millisecond on both replicas; two data
versions; failed links; a loss record of each kind (a failed write, a rotated-away backup);
unreadable lines, impossible values, a blank line, a duplicated line, and a cut final line; an
earlier period (`pre/`) for CUPED.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from botify.lognames import LOST_FILE, file_name
from offline.report.ab import main

START_MS = 1_700_000_000_000
ROTATE_LINES = 400
ARMS = ("C", "T1", "T2")
# `botify ab`'s arguments for the reference outputs, run in the folder that holds log/ and pre/.
ARGV = ["log", "--experiment", "AB", "--out", "out", "--sequential", "--looks", "4",
        "--course-json", "ab_result.json", "--pre", "pre"]  # fmt: skip


def user_events(rng: random.Random, user: int, start_ms: int, arm: str, experiments: bool):
    """One user's sessions: `next` events closed by a `last`, the final one sometimes open."""
    events = []
    now = start_ms + rng.randrange(0, 6 * 3_600_000)
    sessions = rng.randint(1, 4)
    for session in range(sessions):
        length = rng.randint(1, 14)
        open_end = session == sessions - 1 and rng.random() < 0.15
        for position in range(length):
            last = position == length - 1 and not open_end
            # now and then the same millisecond as the event before (ties broken by reading order)
            now += 0 if rng.random() < 0.05 else rng.randrange(2_000, 240_000)
            events.append(
                {
                    "message": "last" if last else "next",
                    "timestamp": now,
                    "user": user,
                    "track": rng.randrange(0, 5_000),
                    "time": round(rng.random() ** (0.8 if arm == "T1" else 1.0), 6),
                    "latency": round(0.001 + rng.expovariate(400.0), 6),
                    "recommendation": None if last else rng.randrange(0, 5_000),
                    "experiments": {"AA": rng.choice(("C", "T1")), "AB": arm}
                    if experiments
                    else {},
                    "recommender": None
                    if last
                    else ("top_pop" if rng.random() < 0.1 else "sasrec_i2i"),
                    "failed": ["sasrec_i2i"] if rng.random() < 0.03 else [],
                    "data_version": None,
                }
            )
        now += rng.randrange(60_000, 3_600_000)
    return events


def period(rng: random.Random, users: int, start_ms: int, experiments: bool) -> list[dict]:
    events: list[dict] = []
    for user in range(users):
        arm = rng.choice(ARMS)
        mine = user_events(rng, user, start_ms, arm, experiments)
        if experiments and user % 97 == 5:  # the arm changed midway (a config change)
            other = ARMS[(ARMS.index(arm) + 1) % len(ARMS)]
            for event in mine[len(mine) // 2 :]:
                event["experiments"] = {**event["experiments"], "AB": other}
        events += mine
    events.sort(key=lambda e: e["timestamp"])
    middle = events[len(events) // 2]["timestamp"]
    for event in events:
        event["data_version"] = "1-aaaa" if event["timestamp"] < middle else "2-bbbb"
    return events


def split_replicas(rng: random.Random, events: list[dict]) -> list[list[str]]:
    """Each event's line on a random one of two replicas."""
    lines: list[list[str]] = [[], []]
    for event in events:
        lines[rng.randrange(2)].append(json.dumps(event))
    return lines


def save(folder: Path, lines: list[str], tail: str = "") -> None:
    """A replica's lines rotated every ROTATE_LINES (the newest in the live file, then `tail`)."""
    folder.mkdir(parents=True, exist_ok=True)
    chunks = [lines[i : i + ROTATE_LINES] for i in range(0, len(lines), ROTATE_LINES)]
    for age, chunk in enumerate(reversed(chunks)):
        text = "".join(line + "\n" for line in chunk)
        (folder / file_name(age)).write_text(text + (tail if age == 0 else ""))


def write_awkward_log(root: Path) -> None:
    """root/log (the experiment, two replicas) and root/pre (the earlier period, one folder)."""
    rng = random.Random(23)
    events = period(rng, 300, START_MS, experiments=True)
    replica_0, replica_1 = split_replicas(rng, events)
    good = json.loads(replica_0[10])
    replica_0[20:20] = [
        "{not json",
        "",
        json.dumps(good | {"time": 1.5}),
        json.dumps(good | {"user": -3}),
        json.dumps({k: v for k, v in good.items() if k != "latency"}),
        "[1, 2]",
    ]
    replica_1.insert(700, replica_0[500])  # the same line logged twice (collected twice)
    save(root / "log" / "replica-0", replica_0)
    save(root / "log" / "replica-1", replica_1, tail='{"message": "next", "timest')
    first, last = events[0]["timestamp"], events[-1]["timestamp"]
    records = [
        {
            "lost": 17,
            "from_timestamp": first + 3_600_000,
            "to_timestamp": first + 3_660_000,
            "error": "No space left on device (OSError)",
        },
        {
            "lost": 250,
            "from_timestamp": first - 7_200_000,
            "to_timestamp": first - 60_000,
            "reason": "rotated",
            "log_backups": 3,
        },
    ]
    (root / "log" / "replica-0" / LOST_FILE).write_text(
        "".join(json.dumps(record) + "\n" for record in records)
    )
    assert last > first
    pre = period(rng, 220, START_MS - 86_400_000, experiments=False)
    save(root / "pre" / "replica-0", [json.dumps(event) for event in pre])


EXPECTED = Path(__file__).parent / "awkward_expected"
OUTPUTS = {
    "report.md": "out/report.md",
    "effects.csv": "out/effects.csv",
    "path.csv": "out/path.csv",
    "ab_result.json": "ab_result.json",
}


def run_report(root: Path, names: dict[str, str], out: Path, monkeypatch, capsys) -> dict:
    """botify ab's outputs (ARGV, `names` replacing its log folders' names) run in a new folder
    `out` where root's folders appear under the same names; `{ROOT}` for root."""
    out.mkdir()
    for path in root.iterdir():
        (out / path.name).symlink_to(path)
    monkeypatch.chdir(out)
    assert main([names.get(arg, arg) for arg in ARGV]) == 0
    captured = capsys.readouterr()
    texts = {name: (out / path).read_text() for name, path in OUTPUTS.items()}
    texts["stdout"] = captured.out
    texts["stderr.txt"] = captured.err
    # the loss records are named by their absolute path (the symlinks resolved)
    return {name: text.replace(str(root), "{ROOT}") for name, text in texts.items()}


def expected(name: str) -> str:
    return (EXPECTED / ("report.md" if name == "stdout" else name)).read_text()
