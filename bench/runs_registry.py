"""How fast does `botify runs` answer on many runs? 50 runs made from one real run folder.

    .venv/bin/python bench/runs_registry.py [--source runs/latest] [--runs 50]

Each run is the source run's folder hard-linked (logs and learned files included, as a real
run holds them), its configs rewritten to name its own folder, and day 2's T1 chain changed
every few runs (its HistoryI2I's history 1..5) so that each row has something to diff. Times
the real command as a user runs it (a new Python process, imports included): `botify runs`
and `botify runs compare`, median of 5.
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
from datetime import datetime, timedelta
from pathlib import Path

from lab.processes import ROOT
from lab.runs import ID_FORMAT

RETYPED = ("config.day1.json", "config.day2.json", "sim.yaml", "summary.md")


def make_runs(source: Path, folder: Path, count: int) -> list[str]:
    start = datetime.strptime(source.name, ID_FORMAT)
    ids = []
    for k in range(count):
        run_id = (start + timedelta(hours=k)).strftime(ID_FORMAT)
        target = folder / run_id
        shutil.copytree(
            source, target, copy_function=os.link, ignore=shutil.ignore_patterns(*RETYPED)
        )
        for name in RETYPED:
            text = (source / name).read_text().replace(str(source), str(target))
            (target / name).write_text(text.replace(source.name, run_id))
        day2 = json.loads((target / "config.day2.json").read_text())
        day2["experiments"][0]["arms"]["T1"][0]["history"] = 1 + (k // 3) % 5
        (target / "config.day2.json").write_text(json.dumps(day2, indent=1))
        ids.append(run_id)
    return ids


def median_seconds(command: list[str], times: int = 5) -> tuple[float, str]:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=True)
        spent.append(time.perf_counter() - started)
    return statistics.median(spent), result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=ROOT / "runs" / "latest")
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    source = args.source.resolve()
    if not (source / "summary.md").is_file():
        sys.exit(f"{source}: not a finished run; make one first: botify experiment --quick")
    with tempfile.TemporaryDirectory() as folder:
        ids = make_runs(source, Path(folder), args.runs)
        botify = [sys.executable, "-m", "lab", "runs", "--runs", folder]
        listing, out = median_seconds(botify)
        compare, _ = median_seconds([*botify[:4], "compare", ids[0], ids[-1], *botify[4:]])
        rows = sum(line.startswith("| 2") for line in out.splitlines())
        size = sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())
    print(f"{args.runs} runs of {source.name} ({size / 1e6:,.0f} MB in all, logs included)")
    print(f"botify runs:         {listing:.2f} s (median of 5), {rows} rows")
    print(f"botify runs compare: {compare:.2f} s (median of 5)")


if __name__ == "__main__":
    main()
