"""Benchmark of `botify ab`: a generated log (several replica folders with rotated files) from
files to finished report, charts included: wall time and peak memory of each run.

    .venv/bin/python bench/ab_report.py [--events 1000000] [--runs 3] [--out bench/out/ab]
        [--engine polars] [--baseline CHECKOUT] [--compact]

The log is generated deterministically (seed 0) into OUT/log, reused when it is already there
with the same size. Up to BATCH_EVENTS events it is one set of 4 replica folders; above, one
such set per BATCH_EVENTS events (OUT/log/part-K/replica-I, each part its own users), so that
generating 50 million events (about 13 GB of JSON) never holds more than one part in memory.
Each run is a fresh `python -m lab ab` process, timed from start to exit; its peak memory is the
child's maximum resident set size. --baseline CHECKOUT also runs that checkout's `botify ab` on
the same log, in turn with this one (A B A B ...), and prints the pair's ratios: a measure of
before and after in one run, the machine's drift shared. --compact first compacts the log
(`botify logs compact`, timed, its own peak) into OUT/parquet and then also times the report
on it, in turn with the others.
Prints each run and the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EVENTS_PER_USER = 33  # about, with the generator's default habits
BATCH_EVENTS = 5_000_000


def generate_part(folder: Path, n_events: int, part: int) -> dict:
    import numpy as np

    from lab.synthetic import cut, make_users, simulate, write_log

    n_users = int(n_events / EVENTS_PER_USER * 1.1)
    users = make_users(n_users, seed=part, first_id=part * 10 * n_users)
    events = simulate(users, {"AB": 2, "AA": 2}, seed=1 + part, effects={"T1": 0.03})
    # Cut at the n-th event in time: a log copied while users were listening.
    if len(events["timestamp"]) > n_events:
        events = cut(events, int(np.sort(events["timestamp"])[n_events]))
    files = write_log(events, folder, replicas=4, max_bytes=16_000_000, seed=2 + part)
    return {
        "events": int(len(events["timestamp"])),
        "files": len(files),
        "bytes": sum(f.stat().st_size for f in files),
    }


def generate(folder: Path, n_events: int) -> dict:
    if n_events <= BATCH_EVENTS:
        return generate_part(folder, n_events, 0)
    total = {"events": 0, "files": 0, "bytes": 0}
    for part, start in enumerate(range(0, n_events, BATCH_EVENTS)):
        size = min(BATCH_EVENTS, n_events - start)
        described = generate_part(folder / f"part-{part}", size, part)
        total = {key: total[key] + described[key] for key in total}
        print(f"part {part}: {described['events']:,} events", file=sys.stderr)
    return total


def ensure_log(out: Path, n_events: int) -> dict:
    stamp = out / "log.json"
    if stamp.exists():
        described = json.loads(stamp.read_text())
        if described.get("requested") == n_events:
            return described
    folder = out / "log"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(out / "parquet", ignore_errors=True)
    started = time.perf_counter()
    described = generate(folder, n_events) | {"requested": n_events}
    print(f"generated in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    stamp.write_text(json.dumps(described))
    return described


def measure(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one process."""
    with tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, cwd=cwd)
        # wait4 reaps this very child and gives its own resource usage (ru_maxrss in KB).
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode:
            stderr.seek(0)
            raise SystemExit(f"{' '.join(command)} failed: {stderr.read().decode().strip()}")
    return wall, usage.ru_maxrss / 1024


def report_command(log: Path, out: Path, engine: str | None, master: str | None) -> list[str]:
    command = [sys.executable, "-m", "lab", "ab", str(log), "--experiment", "AB"]
    command += ["--out", str(out)]
    command += ["--engine", engine] if engine else []
    return command + (["--master", master] if master else [])


def summary(name: str, walls: list[float], peaks: list[float]) -> str:
    return (
        f"{name}: median {statistics.median(walls):.2f} s wall "
        f"(min {min(walls):.2f}, max {max(walls):.2f}), peak RSS {max(peaks):,.0f} MB"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "ab")
    parser.add_argument("--engine", help="botify ab --engine (its default when not given)")
    parser.add_argument(
        "--master",
        help="botify ab --master with --engine spark (e.g. local[2]); the peak RSS "
        "is then the Python driver's, not the JVM's",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="CHECKOUT",
        help="another checkout (e.g. `git worktree add /tmp/base COMMIT`) run in turn",
    )
    parser.add_argument(
        "--compact", action="store_true", help="also compact the log, then report on Parquet"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    log = ensure_log(args.out, args.events)
    print(
        f"log: {log['events']:,} events, {log['bytes'] / 1e6:,.0f} MB in {log['files']} files "
        f"({args.out / 'log'}); {os.cpu_count()} CPUs"
    )
    # each kind of run: the log it reads, the checkout it runs in, its --engine and --master
    kinds = {"this": (args.out / "log", ROOT, args.engine, args.master)}
    if args.compact:
        parquet = args.out / "parquet"
        shutil.rmtree(parquet, ignore_errors=True)
        command = [sys.executable, "-m", "lab", "logs", "compact", str(args.out / "log")]
        wall, peak = measure([*command, "--out", str(parquet)], ROOT)
        size = sum(path.stat().st_size for path in parquet.rglob("*.parquet"))
        print(f"compact: {wall:.2f} s, peak RSS {peak:,.0f} MB, {size / 1e6:,.0f} MB of Parquet")
        kinds["this, on Parquet"] = (parquet, ROOT, args.engine, args.master)
    if args.baseline:
        kinds["baseline"] = (args.out / "log", args.baseline.resolve(), None, None)
    runs: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in kinds}
    for run in range(1, args.runs + 1):
        for name, (source, cwd, engine, master) in kinds.items():
            out = args.out / f"report-{name.replace(', on ', '-')}"
            wall, peak = measure(report_command(source, out, engine, master), cwd)
            runs[name][0].append(wall)
            runs[name][1].append(peak)
            print(f"run {run} {name}: {wall:.2f} s, peak RSS {peak:,.0f} MB")
    for name, (walls, peaks) in runs.items():
        print(summary(name, walls, peaks))
    if args.baseline:
        (walls, peaks), (base_walls, base_peaks) = runs["this"], runs["baseline"]
        ratios = [a / b for a, b in zip(walls, base_walls, strict=True)]
        print(
            f"this / baseline: wall {statistics.median(ratios):.2f} (median of pairs), "
            f"peak RSS {max(peaks) / max(base_peaks):.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
