"""Benchmark of `botify ab`: a million events (about 180 MB of JSON lines in several replica
folders with rotated files) from files to finished report, charts included.

    .venv/bin/python bench/ab_report.py [--events 1000000] [--runs 3] [--out bench/out/ab]

The log is generated deterministically (seed 0) into OUT/log, reused when it is already there
with the same size; each run is a fresh `python -m lab ab` process, timed from start to exit,
and its peak memory is the child's maximum resident set size. Prints each run and the median.
Target (issue 4): under 5 s and under 2 GB on 2 cores.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EVENTS_PER_USER = 33  # about, with the generator's default habits


def generate(folder: Path, n_events: int) -> dict:
    import numpy as np

    from lab.synthetic import cut, make_users, simulate, write_log

    users = make_users(int(n_events / EVENTS_PER_USER * 1.1), seed=0)
    events = simulate(users, {"AB": 2, "AA": 2}, seed=1, effects={"T1": 0.03})
    # Cut at the n-th event in time: a log copied while users were listening.
    if len(events["timestamp"]) > n_events:
        events = cut(events, int(np.sort(events["timestamp"])[n_events]))
    files = write_log(events, folder, replicas=4, max_bytes=16_000_000, seed=2)
    return {
        "events": int(len(events["timestamp"])),
        "files": len(files),
        "bytes": sum(f.stat().st_size for f in files),
    }


def ensure_log(out: Path, n_events: int) -> dict:
    stamp = out / "log.json"
    if stamp.exists():
        described = json.loads(stamp.read_text())
        if described.get("requested") == n_events:
            return described
    folder = out / "log"
    for old in sorted(folder.rglob("*"), reverse=True) if folder.exists() else []:
        old.unlink() if old.is_file() else old.rmdir()
    started = time.perf_counter()
    described = generate(folder, n_events) | {"requested": n_events}
    print(f"generated in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    stamp.write_text(json.dumps(described))
    return described


def run_once(out: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one report process."""
    command = [
        sys.executable,
        "-m",
        "lab",
        "ab",
        str(out / "log"),
        "--experiment",
        "AB",
        "--out",
        str(out / "report"),
    ]
    with tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, cwd=ROOT)
        # wait4 reaps this very child and gives its own resource usage (ru_maxrss in KB).
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode:
            stderr.seek(0)
            raise SystemExit(f"botify ab failed: {stderr.read().decode().strip()}")
    return wall, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "ab")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    log = ensure_log(args.out, args.events)
    print(
        f"log: {log['events']:,} events, {log['bytes'] / 1e6:.0f} MB in {log['files']} files "
        f"({args.out / 'log'}); {os.cpu_count()} CPUs"
    )
    walls, peaks = [], []
    for run in range(1, args.runs + 1):
        wall, peak = run_once(args.out)
        walls.append(wall)
        peaks.append(peak)
        print(f"run {run}: {wall:.2f} s, peak RSS {peak:,.0f} MB")
    print(
        f"median: {statistics.median(walls):.2f} s wall, peak RSS {max(peaks):,.0f} MB "
        f"(target: < 5 s, < 2,048 MB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
