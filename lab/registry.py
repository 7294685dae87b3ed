"""`botify runs`: the registry of `botify experiment` runs, read from the runs folder.

    botify runs [--runs DIR] [--mlflow [DIR]]     every run, oldest first, one row each
    botify runs compare A B [--runs DIR]         two runs side by side

Two-day runs and learning loops (`botify experiment --days N`, folders days-<start time>) alike,
ordered by their start time. A run is named by its id (the folder's name), a unique prefix of
it, `-1`, `-2`, ... (the newest, the one before, by start time), or `latest` (the run that
runs/latest points to: the newest two-day run, whose learned files config.json serves; the
newest run when there is no such link). Each row says what changed since the run before it:
seed, sessions, days, world, config (the last day's and the simulator's, with the run's own
paths written <run>) and the learned files' parameters; `compare` lists every change and every
verdict. With --mlflow, each run is also recorded in MLflow's local file store
(lab.mlflow_record; needs the `mlflow` extra).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lab.processes import ROOT
from lab.runs import Run, latest_id, read_runs, run_changes
from lab.summary import verdict
from offline.logs.errors import InputError, run_command
from offline.report.ab import ArgumentParser
from offline.report.text import table

VERDICT_METRIC = "mean_time_per_session"
CHANGES_SHOWN = 3


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def arms_text(run: Run) -> str:
    return "; ".join(f"{arm}: {links}" for arm, links in run.arms.items()) or "missing"


def world_text(run: Run) -> str:
    if run.world is None:
        return "missing"
    world = Path(run.world)
    shown = world.relative_to(ROOT) if world.is_relative_to(ROOT) else world
    return f"{shown} ({run.world_tracks:,} tracks)" if run.world_tracks else str(shown)


def offline_text(run: Run) -> str:
    scores = [
        f"{name.removesuffix('.json')} {score['ndcg']:.3f}"
        for name, score in run.offline.items()
        if "ndcg" in score
    ]
    # The learning loop trains with --holdout 0: its files have no offline scores to show.
    return ", ".join(scores) or ("not evaluated" if run.models else "missing")


def verdict_text(rows: list[dict[str, str]], day: int | None) -> str:
    return f"day {day}: {verdict(rows, VERDICT_METRIC)}" if rows else "missing"


def number_text(value: int | None) -> str:
    return f"{value:,}" if value is not None else "?"


def duration_text(run: Run) -> str:
    return f"{run.seconds} s" if run.seconds is not None else "incomplete"


def changed_text(before: Run | None, run: Run) -> str:
    if before is None:
        return "first run"
    lines = run_changes(before, run)
    if not lines:
        return "nothing"
    more = len(lines) - CHANGES_SHOWN
    shown = "; ".join(lines[:CHANGES_SHOWN])
    return shown + (
        f"; +{more} more (botify runs compare {before.id} {run.id})" if more > 0 else ""
    )


def listing(runs: list[Run]) -> str:
    rows = []
    for before, run in zip([None, *runs[:-1]], runs, strict=True):
        rows.append(
            [
                run.id,
                run.date.strftime("%Y-%m-%d %H:%M") if run.date else "?",
                world_text(run),
                str(run.seed) if run.seed is not None else "?",
                number_text(run.sessions),
                number_text(run.days),
                f"{run.experiment}: {arms_text(run)}",
                changed_text(before, run),
                verdict_text(run.aa, run.aa_day),
                verdict_text(run.ab, run.ab_day),
                offline_text(run),
                duration_text(run),
            ]
        )
    columns = ["run", "date", "world", "seed", "sessions a day", "days", "arms"]
    columns += ["changed since before", f"A/A ({VERDICT_METRIC})", "A/B (the last day)"]
    columns += ["offline NDCG@10", "duration"]
    return table(columns, [[cell(c) for c in row] for row in rows], right_from=len(columns))


def effect_text(row: dict[str, str] | None) -> str:
    if row is None:
        return "-"
    holm = " (Holm)" if row.get("significant_holm") == "true" else ""
    found = "significant" + holm if row.get("significant") == "true" else "not significant"
    return (
        f"{float(row['effect']):+.2f}% [{float(row['lower']):+.2f}, {float(row['upper']):+.2f}] "
        f"{found}"
    )


def compare(a: Run, b: Run) -> str:
    facts = [
        ["date", *(r.date.strftime("%Y-%m-%d %H:%M:%S") if r.date else "?" for r in (a, b))],
        ["world", world_text(a), world_text(b)],
        ["seed", str(a.seed), str(b.seed)],
        ["sessions a day", str(a.sessions), str(b.sessions)],
        ["days", str(a.days), str(b.days)],
        ["verdicts of", *(f"A/A day {r.aa_day}, A/B day {r.ab_day}" for r in (a, b))],
        ["experiment", str(a.experiment), str(b.experiment)],
        *[[f"arm {arm}", a.arms.get(arm, "-"), b.arms.get(arm, "-")] for arm in arm_names(a, b)],
        ["duration", duration_text(a), duration_text(b)],
    ]
    verdicts = []
    for day, rows_a, rows_b in (("A/A", a.aa, b.aa), ("A/B", a.ab, b.ab)):
        by_a = {(r["treatment"], r["metric"]): r for r in rows_a}
        by_b = {(r["treatment"], r["metric"]): r for r in rows_b}
        for key in [*by_a, *(k for k in by_b if k not in by_a)]:
            verdicts.append(
                [day, key[0], key[1], effect_text(by_a.get(key)), effect_text(by_b.get(key))]
            )
    scores = []
    for name in sorted(a.offline.keys() | b.offline.keys()):
        for score in ("hit_rate", "ndcg"):
            values = [r.offline.get(name, {}).get(score) for r in (a, b)]
            scores.append(
                [name, f"{score}@10", *("-" if v is None else f"{v:.4f}" for v in values)]
            )
    changed = run_changes(a, b)
    parts = [
        f"# {a.id} vs {b.id}",
        table(["", a.id, b.id], [[cell(c) for c in row] for row in facts], right_from=3),
        f"## What changed ({len(changed)})",
        "\n".join(f"- {cell(line)}" for line in changed) or "nothing",
        "## Verdicts (effect % of control, interval, significance)",
        table(["test", "arm", "metric", a.id, b.id], verdicts, right_from=5),
        "## Offline metrics of the learned files",
        table(["file", "metric", a.id, b.id], scores, right_from=2),
    ]
    return "\n\n".join(parts) + "\n"


def arm_names(a: Run, b: Run) -> list[str]:
    return [*a.arms, *(arm for arm in b.arms if arm not in a.arms)]


def find_run(runs: list[Run], name: str, latest: str | None = None) -> Run:
    """A run by id, unique id prefix, `latest` (the run with id `latest`, else the newest) or
    -N (the N-th newest)."""
    if name == "latest" and latest is not None:
        name = latest
    if name == "latest" or (name.startswith("-") and name[1:].isdigit()):
        back = 1 if name == "latest" else int(name[1:])
        if not 1 <= back <= len(runs):
            raise InputError(f"run {name!r}: there are {len(runs)} runs")
        return runs[-back]
    exact = [r for r in runs if r.id == name]
    matches = exact or [r for r in runs if r.id.startswith(name)]
    if len(matches) != 1:
        known = ", ".join(r.id for r in runs[-5:]) or "none"
        what = "matches several runs" if matches else "is not a run"
        raise InputError(f"{name!r} {what} (the latest: {known})")
    return matches[0]


def load_runs(folder: Path) -> list[Run]:
    # The folder may be the default one, never named by the user: say where, and how to choose.
    choose = "choose the runs folder with --runs DIR"
    if not folder.is_dir():
        raise InputError(f"no runs folder at {folder} ({choose})")
    runs = read_runs(folder)
    if not runs:
        raise InputError(
            f"no runs in {folder} (a run is a folder with a config.day1.json, as botify "
            f"experiment writes it; {choose})"
        )
    return runs


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = ArgumentParser(prog="botify runs", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runs", type=Path, default=ROOT / "runs", metavar="DIR", help="the runs folder (runs)"
    )
    if argv[:1] == ["compare"]:
        parser.prog = "botify runs compare"
        parser.add_argument("command", choices=["compare"])
        parser.add_argument(
            "a", metavar="A", help="a run: id, id prefix, latest (runs/latest) or -N (N-th newest)"
        )
        parser.add_argument("b", metavar="B", help="the other run")
    else:
        parser.add_argument(
            "--mlflow",
            nargs="?",
            const=ROOT / "runs" / "mlruns",
            type=Path,
            metavar="DIR",
            help="also record each run in MLflow's file store in DIR (runs/mlruns)",
        )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    runs = load_runs(args.runs)
    if getattr(args, "command", None) == "compare":
        latest = latest_id(args.runs)
        print(compare(find_run(runs, args.a, latest), find_run(runs, args.b, latest)), end="")
        return 0
    print(listing(runs))
    if args.mlflow is not None:
        from lab.mlflow_record import record_runs

        recorded = record_runs(runs, args.mlflow)
        print(f"botify runs: {recorded} new runs recorded in MLflow at {args.mlflow}")
    return 0


def main(argv: list[str]) -> int:
    return run_command("botify runs", lambda: run(parse_args(argv)))
