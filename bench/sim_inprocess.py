"""In-process evaluation speed: 10,000 sessions of the default world through a botify chain on a
precomputed item-to-item file (100 neighbours per track), without HTTP.

    .venv/bin/python bench/sim_inprocess.py [--sessions 10000] [--runs 3]

Prints, per chain, the median of the runs: the whole command's wall time (start, loading the
world and the botify data, the sessions, the summary) and the sessions' own time. Target: 10,000
sessions in under 10 s."""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time

from sim_setup import ROOT, botify_config, item_to_item, sim_config, world

CHAINS = {
    "contextual (random of 100 i2i) -> random": [{"recommender": "contextual", "source": "i2i"}],
    "contextual ranked, no_repeat -> random": [
        {"recommender": "contextual", "source": "i2i", "ranked": True, "no_repeat": True}
    ],
}


def run_once(config, botify, sessions: int, seed: int) -> dict:
    command = [sys.executable, "-m", "sim.run", "--config", str(config), "--episodes",
               str(sessions), "single", "--recommender", "inprocess", "--botify-config",
               str(botify), "--seed", str(seed)]  # fmt: skip
    started = time.perf_counter()
    output = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - started
    row = re.search(r"\| 1 \| (\d+) \| ([\d.]+) \| [\d.]+ \| ([\d.]+) \|", output)
    seconds = float(re.search(r"sessions in ([\d.]+) s", output).group(1))
    return {"wall": wall, "sessions_s": seconds, "time": float(row[2]), "length": float(row[3])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    directory = world()
    item_to_item(directory)
    config = sim_config(directory)
    print(f"{args.sessions} sessions of the default world, in-process, median of {args.runs} runs")
    print()
    print("| chain | command wall s | sessions s | sessions/s | mean time | mean length |")
    print("|---|---:|---:|---:|---:|---:|")
    for index, (name, chain) in enumerate(CHAINS.items()):
        botify = botify_config(directory, chain, name=f"inprocess-{index}.json")
        runs = [run_once(config, botify, args.sessions, seed) for seed in range(args.runs)]
        wall = statistics.median(r["wall"] for r in runs)
        own = statistics.median(r["sessions_s"] for r in runs)
        print(
            f"| {name} | {wall:.1f} | {own:.1f} | {args.sessions / own:.0f} | "
            f"{statistics.median(r['time'] for r in runs):.2f} | "
            f"{statistics.median(r['length'] for r in runs):.1f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
