"""World generation at the default size (50,000 tracks, 11,000 artists, 10,000 users): the
wall time of `botify world --out DIR --seed S`, as a fresh process runs it.

    .venv/bin/python bench/sim_world.py [--runs 3]

Target: under 15 s."""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "sim"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    seconds = []
    for run in range(args.runs):
        out = OUT / f"world-bench-{run}"
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "lab", "world", "--out", str(out), "--seed", str(run)],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        seconds.append(time.perf_counter() - started)
        shutil.rmtree(out, ignore_errors=True)
    print(
        f"botify world (50,000 tracks, 11,000 artists, 10,000 users): median "
        f"{statistics.median(seconds):.1f} s of {[round(s, 1) for s in seconds]} (target < 15 s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
