"""The validation of `botify ope`: estimates made from day d's log for chains served on day d+1,
against what each chain then measured. In-process (lab/simday), where the service is not the
point.

    python -m lab.ope_check --data data --episodes 10000 --seeds 42,43 --out runs/ope

For each seed: day 1 is served by the logging chain (StickyArtist exploring genre-mates with
probability 0.3); from its log `botify ope`'s estimators estimate each target chain's mean
session time and listened fraction per request; day 2 serves each target to everyone and
measures both. Prints one row per (seed, target) and unit, and how many estimates fell within
10% and how many intervals covered the measured value.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lab.days import write_json
from lab.simday import run_day
from offline.report.ope import evaluate, logged_session_time, read_requests

STICKY = {"recommender": "sticky_artist", "no_repeat": True}


def exploring(probability: float) -> list[dict]:
    return [{**STICKY, "explore": {"probability": probability, "from": "genre"}}]


LOGGING = exploring(0.3)
TARGETS = {
    "sticky": [STICKY],
    "explore 0.1": exploring(0.1),
    "explore 0.3 (logging)": LOGGING,
    "explore 0.6": exploring(0.6),
    "genre-mates only": exploring(1.0),
}


def write_config(path: Path, data: Path, chain: list[dict]) -> Path:
    data = data.resolve()  # a config's relative paths are relative to the config's folder
    files = {"catalog": str(data / "tracks.json"), "top_tracks": str(data / "top_tracks.json")}
    experiment = {"name": "OPE", "arms": {"C": chain}}
    return write_json(
        path, {"data": files, "routing_experiment": "OPE", "experiments": [experiment]}
    )


def check(args: argparse.Namespace) -> dict[str, list[dict]]:
    """Rows by unit ("session", "request")."""
    rows: dict[str, list[dict]] = {}
    for seed in args.seeds:
        folder = args.out / f"seed{seed}"
        folder.mkdir(parents=True, exist_ok=True)
        logging = write_config(folder / "logging.json", args.data, LOGGING)
        run_day(args.sim_config, str(logging), args.episodes, 1, seed, folder / "day1")
        for i, (name, chain) in enumerate(TARGETS.items()):
            config = write_config(folder / f"target{i}.json", args.data, chain)
            _, per_request, per_session = evaluate([str(folder / "day1")], config, "C", seed)
            run_day(args.sim_config, str(config), args.episodes, 2, seed, folder / f"day2_{i}")
            served = read_requests([str(folder / f"day2_{i}")])
            for unit, estimates, measured in (
                ("session", per_session, logged_session_time(served)),
                ("request", per_request, float(served.reward.mean())),
            ):
                row = {"seed": seed, "target": name, "measured": measured, "estimates": estimates}
                rows.setdefault(unit, []).append(row)
    return rows


def report(rows: list[dict], unit: str) -> str:
    what = {
        "session": "mean session time (simulator's count)",
        "request": "mean listened fraction per request",
    }
    lines = [
        f"### {what[unit]}",
        "",
        "| seed | target | measured day 2 | IPS | SNIPS | DR [95% interval] | DR error | ESS |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    within = {name: 0 for name in ("IPS", "SNIPS", "DR")}
    covered = dict(within)
    for row in rows:
        measured, by = row["measured"], {e.method: e for e in row["estimates"]}
        for e in row["estimates"]:
            within[e.method] += abs(e.value - measured) <= 0.1 * measured
            covered[e.method] += e.low <= measured <= e.high
        dr = by["DR"]
        lines.append(
            f"| {row['seed']} | {row['target']} | {measured:.4f} | {by['IPS'].value:.4f} | "
            f"{by['SNIPS'].value:.4f} | {dr.value:.4f} [{dr.low:.4f}, {dr.high:.4f}] | "
            f"{(dr.value - measured) / measured:+.1%} | {dr.ess:,.0f} |"
        )
    n = len(rows)
    lines.append("")
    for method in within:
        lines.append(
            f"{method}: within 10% in {within[method]}/{n}, interval covers in "
            f"{covered[method]}/{n}"
        )
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m lab.ope_check", description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("data"), help="the world's folder")
    parser.add_argument("--sim-config", default="sim/config.yaml", help="simulator config")
    parser.add_argument("--episodes", type=int, default=10_000, help="sessions a day (10000)")
    parser.add_argument(
        "--seeds",
        type=lambda text: [int(s) for s in text.split(",")],
        default=[42, 43],
        help="comma-separated seeds (42,43)",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/ope"), help="output folder")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error("--episodes must be at least 1")
    if not (args.data / "tracks.json").is_file():
        parser.error(f"--data {args.data}: no tracks.json (botify world --out {args.data})")
    return args


def main(argv: list[str] | None = None) -> int:
    rows = check(parse_args(sys.argv[1:] if argv is None else argv))
    print("\n".join(report(unit_rows, unit) for unit, unit_rows in rows.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
