"""`botify experiment --days N`: the learning loop over N days, in-process (lab/simday: the real
Service over memory with a simulated clock; the HTTP service is not the point here).

Every day the routing experiment LOOP serves C (StickyArtist) against T1, and an A/A experiment
is logged alongside. T1 is on day 1 StickyArtist exploring genre-mates (`--explore-first`), and
from day 2 the learned chain (replay, session_artists, history_i2i, top_pop on the files `botify
train --i2i affinity --users enjoyed` learned from all the days before: offline/learn/TRAINING.md)
whose session_artists link explores genre-mates with probability `--explore`. Each day's log is
judged by `botify ab` (LOOP, and the day's A/A, its users split afresh each day), and
exploration's cost is estimated off-policy (`botify ope`, DR): T1's chain without exploration on
T1's own logged requests, less what T1 measured (on day 1, C's StickyArtist is that chain: its
cost is measured). Users' histories carry across days, as the service keeps them in Redis (its
history_length last listens per user).

Writes RUN/report.md (the trajectory table), RUN/trajectory.png and RUN/trajectory.json; RUN is
runs/days-<start time>, named when the loop starts and when it ends.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

from botify.arms import arm_names, bucket, experiment_seed
from lab.days import DEFAULT_SIZE, QUICK_SIZE, sim_config, write_json
from lab.loop_chains import STICKY, day_data, learned_chain, treatment_chain
from lab.loop_options import TRAIN_OPTIONS, add_loop_options
from lab.processes import ROOT
from lab.simday import run_day
from lab.summary import read_effects
from offline.report.ope import evaluate, logged_session_time
from sim.progress import progress
from sim.worldfiles import TRACKS, world_matches

LOOP = "LOOP"


def aa_name(day: int) -> str:
    """The day's A/A experiment: named per day, so each day splits the users afresh. One split
    kept for every day judges one random draw again and again, and as the learned arm's gain
    grows (unlike users gain unlike amounts) an unlucky split shows on day after day."""
    return f"AA{day}"


METRIC = "mean_time_per_session"
# In-process, a request's latency is the simulating process's time for the user's LOOP chain
# (T1's learned chain takes about 5x StickyArtist's), so an A/A arm that drew more of LOOP T1's
# requests is slower; it says nothing of the service. The A/A's verdict is on the listening, and
# a flag on latency is shown beside it.
LATENCY = "mean_request_latency"


def day_config(run: Path, world: Path, day: int, explore: float, learned: bool) -> Path:
    config = {
        "data": day_data(run, world, day, learned),
        "routing_experiment": LOOP,
        "experiments": [
            {"name": LOOP, "arms": {"C": [STICKY], "T1": treatment_chain(explore, learned)}},
            {"name": aa_name(day), "arms": 2},
        ],
    }
    return write_json(run / f"config.day{day}.json", config)


def botify(*args: str, output: Path | None = None) -> None:
    """A botify command in this process, its printout into `output` (if given)."""
    from lab.cli import main

    with open(output or os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        code = main(list(args))
    if code != 0:
        raise SystemExit(f"botify experiment --days: `botify {' '.join(args)}` failed ({code})")


def judge(run: Path, day: int) -> dict:
    logs = str(run / "logs" / f"day{day}")
    row: dict = {"day": day}
    for experiment in (LOOP, aa_name(day)):
        out = run / f"ab.day{day}.{experiment}"
        botify(
            "ab",
            logs,
            "--experiment",
            experiment,
            "--out",
            str(out),
            output=out.with_suffix(".txt"),
        )
        effect = next(r for r in read_effects(out / "effects.csv") if r["metric"] == METRIC)
        if experiment == LOOP:
            row["C"], row["T1"] = float(effect["control_mean"]), float(effect["treatment_mean"])
            row["effect"] = float(effect["effect"])
            row["interval"] = (float(effect["lower"]), float(effect["upper"]))
            row["significant"] = effect["significant"] == "true"
        else:
            aa = read_effects(out / "effects.csv")
            row["aa_clean"], row["aa_latency"] = aa_flags(aa)
    return row


def session_times(results: list) -> dict[str, float]:
    """Each arm's mean session time as the simulator counts it (the listens after the first)."""
    seed = experiment_seed(LOOP)
    times: dict[str, list[float]] = {"C": [], "T1": []}
    for result in results:
        times[arm_names(2)[bucket(result.user, LOOP, 2, seed)]].append(result.time)
    return {f"{arm}_sim": sum(values) / max(len(values), 1) for arm, values in times.items()}


def exploration_cost(run: Path, day: int) -> float:
    """Session time: T1's learned chain without exploration (DR estimate on T1's sessions) less
    what T1 measured."""
    config = json.loads((run / f"config.day{day}.json").read_text())
    config["experiments"] = [{"name": LOOP, "arms": {"C": learned_chain(None)}}]
    path = write_json(run / f"config.day{day}.greedy.json", config)
    logs = [str(run / "logs" / f"day{day}")]
    requests, _, per_session = evaluate(logs, path, "C", 0, (LOOP, "T1"))
    dr = next(e for e in per_session if e.method == "DR")
    return dr.value - logged_session_time(requests)


def aa_flags(effects: list[dict]) -> tuple[bool, bool]:
    """(no listening metric of the A/A significant, its latency significant), by Holm."""
    flagged = {r["metric"] for r in effects if r["significant_holm"] == "true"}
    return not flagged - {LATENCY}, LATENCY in flagged


def aa_verdict(row: dict) -> str:
    verdict = "yes" if row["aa_clean"] else "NO"
    return f"{verdict} (latency flagged)" if row.get("aa_latency") else verdict


def report(
    rows: list[dict], explore: float, explore_first: float, sessions: int, seed: int, seconds: float
) -> str:
    first = "" if explore_first == explore else f" ({explore_first} on day 1)"
    lines = [
        f"# botify experiment --days {len(rows)}",
        "",
        # `botify runs` reads this line (lab.runs.SUMMARY_LINE)
        f"Seed {seed}, {sessions} sessions a day for {len(rows)} days, {seconds:.0f} s in all.",
        "",
        f"{sessions} sessions a day, in-process; T1 explores genre-mates with probability "
        f"{explore}{first}. Mean session time in two counts, (report) and (sim), said under "
        "the table; the effect is on the report's.",
        "",
        "| day | C (report) | T1 (report) | effect % [interval] | significant | A/A clean "
        "| C (sim) | T1 (sim) | exploration cost |",
        "|---:|---:|---:|---:|---|---|---:|---:|---:|",
    ]
    for r in rows:
        low, high = r["interval"]
        lines.append(
            f"| {r['day']} | {r['C']:.3f} | {r['T1']:.3f} | {r['effect']:+.2f} "
            f"[{low:+.2f}, {high:+.2f}] | {'yes' if r['significant'] else 'no'} | "
            f"{aa_verdict(r)} | {r['C_sim']:.3f} | {r['T1_sim']:.3f} | "
            f"{r['cost']:+.4f} |"
        )
    lines.append("")
    lines.append(
        "(report): the arm's mean session time in the report's count, `botify ab`'s "
        "mean_time_per_session: per user, the listened fractions of every logged track of their "
        "sessions, the first track's 1.0 included, over their sessions, averaged over users. "
        "(sim): in the simulator's count, the listens after the session's first track, per "
        "session."
    )
    lines.append("")
    lines.append(
        "A/A clean: no listening metric of the day's A/A significant (Holm). Its "
        "mean_request_latency is judged apart: in-process it is the simulating process's time "
        "for each user's LOOP chain (T1's takes several times StickyArtist's), so an A/A arm "
        "that drew more of LOOP T1's requests is slower; a flag on it is shown as (latency "
        "flagged)."
    )
    lines.append("")
    lines.append(
        "Exploration cost: session time in the simulator's count that T1's chain without "
        "exploration would have gained per T1 session (off-policy, per-decision DR on T1's "
        "logged sessions, less T1's measured mean); on day 1 measured: C serves StickyArtist, "
        "T1's chain without exploration."
    )
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="botify experiment --days", description=__doc__)
    add_loop_options(parser)
    parser.add_argument("--quick", action="store_true", help="the small world (3,000 tracks)")
    parser.add_argument("--sessions", type=int, help="sessions a day (20000; quick: 3000)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (42)")
    parser.add_argument("--world", help="the world folder (data, or data/quick)")
    parser.add_argument("--out", default=str(ROOT / "runs"), help="runs folder (runs)")
    args = parser.parse_args(argv)
    if args.days < 2:
        parser.error(f"--days must be at least 2, got {args.days}")
    if args.sessions is not None and args.sessions < 1:
        parser.error(f"--sessions must be at least 1, got {args.sessions}")
    if not 0 < args.explore <= 1:
        parser.error(f"--explore must be in (0, 1], got {args.explore}")
    if not 0 < args.explore_first <= 1:
        parser.error(f"--explore-first must be in (0, 1], got {args.explore_first}")
    try:
        args.train = shlex.split(args.train)
    except ValueError as error:
        parser.error(f"--train: {error}")
    check_train_options(parser, args.train)
    return args


def check_train_options(parser: argparse.ArgumentParser, options: list[str]) -> None:
    """Fail before day 1 on options `botify train` would refuse after it."""
    from offline.learn.train import parse_args as train_args
    from offline.logs.errors import InputError

    try:
        train_args(["LOG", "--catalog", "C", "--out", "O", *TRAIN_OPTIONS, *options])
    except InputError as error:
        parser.error(f"--train {shlex.join(options)}: botify train says: {error}")


def trainer(world: Path, options: list[str]) -> Callable[[list[Path], Path], None]:
    """`botify train` with `options`, from log folders into a model folder."""

    def train(logs: list[Path], out: Path) -> None:
        paths = [str(log) for log in logs]
        botify("train", *paths, "--catalog", str(world / TRACKS), "--out", str(out), *options)

    return train


def run_loop(args: argparse.Namespace) -> Path:
    started = time.monotonic()
    size = QUICK_SIZE if args.quick else DEFAULT_SIZE
    sessions = args.sessions or size.sessions
    world = Path(args.world or (ROOT / "data" / ("quick" if args.quick else ""))).resolve()
    if not world_matches(world, args.seed, size.tracks, size.artists, size.users):
        sizes = [f"--tracks={size.tracks}", f"--artists={size.artists}", f"--users={size.users}"]
        botify("world", "--out", str(world), "--seed", str(args.seed), *sizes)
    run = Path(args.out).resolve() / time.strftime("days-%Y%m%d-%H%M%S")
    run.mkdir(parents=True)
    print(f"botify experiment --days {args.days}: writing to {run}", flush=True)
    simulator = sim_config(run, world)
    rows = []
    histories: dict[int, list[tuple[int, float]]] = {}  # the users' recent listens, day to day
    # what T1's files learn from: the whole log (pooled), or T1's own traffic (isolated); the
    # counterfactual worlds always learn from their own whole logs (everyone is on their chain)
    world_options = [*TRAIN_OPTIONS, *args.train]
    isolated = ["--experiment", LOOP, "--arm", "T1"] if args.training == "isolated" else []
    train = trainer(world, [*world_options, *isolated])
    truth = None
    if args.truth:
        from lab.truth_loop import TruthRun

        truth = TruthRun(
            run, world, simulator, sessions, args.seed, LOOP, trainer(world, world_options)
        )
    for day in range(1, args.days + 1):
        learned = day > 1
        explore = args.explore if learned else args.explore_first
        config = day_config(run, world, day, explore, learned)
        if truth is not None:
            truth.day_starts(histories)
        with progress(sessions, f"day {day}") as update:
            results = run_day(
                str(simulator),
                str(config),
                sessions,
                day,
                args.seed,
                run / "logs" / f"day{day}",
                histories,
                update,
            )
        row = judge(run, day) | session_times(results)
        # Day 1's chain without exploration is StickyArtist, which C served the same day: its
        # cost is measured. (An estimate would need the chain's choices in T1's log, and the
        # cold start may explore every request.)
        row["cost"] = exploration_cost(run, day) if learned else row["C_sim"] - row["T1_sim"]
        print(
            f"day {day}: mean session time, the report's count: C {row['C']:.3f}, "
            f"T1 {row['T1']:.3f} ({row['effect']:+.2f}%); the simulator's count: "
            f"C {row['C_sim']:.3f}, T1 {row['T1_sim']:.3f}",
            flush=True,
        )
        if truth is not None:
            row |= truth.day_ends(day, explore, row)
        rows.append(row)
        if day < args.days:
            train([run / "logs" / f"day{d}" for d in range(1, day + 1)], run / f"model{day}")
            if truth is not None:
                next_config = day_config(run, world, day + 1, args.explore, True)
                truth.trained(day, next_config, row["C_sim"])
    write_json(run / "trajectory.json", rows)
    seconds = time.monotonic() - started
    text = report(rows, args.explore, args.explore_first, sessions, args.seed, seconds)
    if args.training != "pooled" and truth is None:
        text += (
            f"\nTraining: {args.training}: T1's models learn only from T1's own logged traffic.\n"
        )
    from lab.trajectory_chart import item_to_item_ceiling, trajectory_chart  # imports matplotlib

    title = (
        f"botify experiment --days {args.days} ({run.name}): T1 against C, "
        f"{sessions} sessions a day, seed {args.seed}"
    )
    if truth is not None:
        text += truth.finish(rows, args.training, f"{title}, {args.training} training", seconds)
    (run / "report.md").write_text(text)
    ceiling = item_to_item_ceiling(args.seed, size)
    trajectory_chart(rows, run / "trajectory.png", title, ceiling)
    print((run / "report.md").read_text())
    return run


def main(argv: list[str] | None = None) -> int:
    run = run_loop(parse_args(sys.argv[1:] if argv is None else argv))
    print(f"botify experiment --days: done; the run is in {run} (report.md, trajectory.png)")
    return 0
