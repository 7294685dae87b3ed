"""Benchmark of `botify train`: a million events, all three models trained and written.

    .venv/bin/python bench/train.py [--events 1000000] [--runs 3] [--no-eval] [--out DIR]

Generates (once, then reuses) a catalog of 50,000 tracks by 11,000 artists and a log of about
`--events` events in botify's format, spread over two replica folders with rotated files, then
runs `botify train` on it in a fresh process `--runs` times (with its offline evaluation, which
trains every model a second time on the split; `--no-eval` skips it). Prints each run's wall
time (with the command's own split into reading, evaluation, training, writing) and peak RSS
(the child's own maxrss, from wait4), then the median time and the largest peak.

The log has the shape that matters for the cost: sessions of a user listening mostly around one
of their favourite artists with random detours, as a StickyArtist -> Random chain serves them,
10,000 users, about 14 listens per session.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from botify.events import FIELDS
from botify.lognames import LOG_FILE, file_name

ROOT = Path(__file__).resolve().parent.parent
START_MS = 1_700_000_000_000


def write_catalog(path: Path, n_tracks: int, n_artists: int, rng: np.random.Generator):
    popularity = rng.lognormal(0.0, 1.5, n_artists)
    artist = np.sort(rng.choice(n_artists, n_tracks, p=popularity / popularity.sum()))
    artist[:n_artists] = np.arange(n_artists)  # every artist has a track
    artist = np.sort(artist)
    frame = pl.DataFrame(
        {
            "track": np.arange(n_tracks),
            "artist": [f"artist {a}" for a in artist.tolist()],
            "title": [f"song {t}" for t in range(n_tracks)],
        }
    )
    frame.write_ndjson(path)
    return artist, popularity


def generate(folder: Path, n_events: int, seed: int = 0) -> tuple[Path, Path]:
    """(catalog, log folder), generated unless already there."""
    catalog, logs, done = folder / "tracks.json", folder / "log", folder / f"done-{n_events}"
    if done.exists():
        return catalog, logs
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_tracks, n_artists, n_users = 50_000, 11_000, 10_000
    artist, popularity = write_catalog(catalog, n_tracks, n_artists, rng)
    starts = np.searchsorted(artist, np.arange(n_artists + 1))

    length = 14
    n_sessions = n_events // length
    session_user = rng.integers(0, n_users, n_sessions)
    interest = rng.choice(n_artists, n_sessions, p=popularity / popularity.sum())
    sizes = rng.geometric(1 / length, n_sessions) + 1
    session = np.repeat(np.arange(n_sessions), sizes)
    step = np.arange(len(session)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    home = interest[session]
    on_artist = rng.random(len(session)) < 0.75
    counts = starts[home + 1] - starts[home]
    own = starts[home] + (rng.random(len(session)) * counts).astype(np.int64)
    track = np.where(on_artist, own, rng.integers(0, n_tracks, len(session)))
    time_ = np.where(on_artist, rng.beta(5, 2, len(session)), rng.beta(1, 8, len(session)))
    time_ = np.where(step == 0, 1.0, np.round(time_, 2))
    is_last = np.r_[session[1:] != session[:-1], True]
    recommendation = np.r_[track[1:], -1]
    session_start = START_MS + rng.integers(0, 86_400_000, n_sessions)
    timestamp = session_start[session] + step * 30_000
    order = np.argsort(timestamp, kind="stable")
    frame = (
        pl.DataFrame(
            {
                "message": np.where(is_last, "last", "next")[order],
                "timestamp": timestamp[order],
                "user": session_user[session][order],
                "track": track[order],
                "time": time_[order],
                "latency": np.round(rng.lognormal(np.log(0.002), 0.5, len(session)), 6)[order],
                "recommendation": recommendation[order],
            }
        )
        .with_columns(
            recommendation=pl.when(pl.col("message") == "last")
            .then(None)
            .otherwise("recommendation"),
            experiments=pl.lit('{"STICKY": "C"}').str.json_decode(pl.Struct({"STICKY": pl.String})),
            recommender=pl.lit("sticky_artist"),
            failed=pl.lit([], dtype=pl.List(pl.String)),
            data_version=pl.lit("1-00000000"),
            propensity=pl.lit(None, dtype=pl.Float64),
        )
        .select(list(FIELDS))
    )  # the event record's fields, in its order
    replica = rng.integers(0, 2, frame.height)
    for r in range(2):
        part = frame.filter(pl.Series(replica == r))
        chunks = np.array_split(np.arange(part.height), 3)  # two rotated backups and the live file
        out = logs / f"replica-{r}"
        out.mkdir(parents=True, exist_ok=True)
        for age, rows in enumerate(reversed(chunks)):
            part[int(rows[0]) : int(rows[-1]) + 1].write_ndjson(out / file_name(age))
    done.write_text(json.dumps({"events": frame.height}))
    return catalog, logs


def run_once(catalog: Path, logs: Path, out: Path, extra: list[str]) -> tuple[float, float, str]:
    """Wall seconds and peak RSS (MB) of one `botify train` in a fresh process."""
    command = [sys.executable, "-m", "lab", "train", str(logs), "--catalog", str(catalog)]
    command += ["--out", str(out), *extra]
    started = time.perf_counter()
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, cwd=ROOT, stdout=stdout, stderr=stderr)
        # wait4 gives this child's own resource usage (getrusage would give the max of all).
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        if process.returncode:
            raise SystemExit(f"botify train failed: {stderr.read().decode().strip()}")
        return seconds, usage.ru_maxrss / 1024, stdout.read().decode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "train")
    parser.add_argument("--no-eval", action="store_true", help="train and write only (--holdout 0)")
    args = parser.parse_args()
    started = time.perf_counter()
    catalog, logs = generate(args.out / "input", args.events)
    size = sum(p.stat().st_size for p in logs.rglob(f"{LOG_FILE}*"))
    print(f"log: {logs} ({size / 1e6:.0f} MB), ready in {time.perf_counter() - started:.1f} s")
    times, peaks = [], []
    for run in range(args.runs):
        extra = ["--holdout", "0"] if args.no_eval else []
        seconds, peak, stdout = run_once(catalog, logs, args.out / "model", extra)
        times.append(seconds)
        peaks.append(peak)
        if run == 0:
            print(stdout.strip())
        elif stdout.strip():
            print(stdout.strip().splitlines()[-1])
        print(f"run {run + 1}: {seconds:.1f} s wall, peak RSS {peak:,.0f} MB")
    print(f"median: {statistics.median(times):.1f} s wall, largest peak RSS {max(peaks):,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
