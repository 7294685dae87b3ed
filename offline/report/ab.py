"""`botify ab LOG... [--experiment NAME]`: judge an A/B experiment from botify's event logs.

    botify ab log/ [--experiment NAME] [--control C] [--alpha 0.05] [--out DIR] [--pre LOG...]
              [--split 50,50] [--max-bad-lines 0.01] [--course-json FILE]

Prints the report (markdown) and writes it as DIR/report.md with the same numbers in
DIR/effects.csv and two charts, DIR/effects.png (each metric's effect, coloured good, bad or not
significant by the metric's good direction, one scale per family of metrics) and
DIR/session_time.png (DIR defaults to runs/ab/NAME). Without --experiment it judges the
alphabetically first experiment named in the events, as the course's analysis script does, and
says so (report and stderr). --course-json also writes the course's homework grader's
ab_result.json (offline.report.course_json). Bad input (a missing file, too many unusable lines,
an unknown experiment or arm, a bad option, a --course-json that cannot be written) ends with one
line on stderr naming it and exit status 2; a sample ratio mismatch is a loud warning (top of the
report and stderr) but the report is still written, exit status 0.

Two steps. The aggregation (offline.report.aggregate, on the engine --engine names: polars by
default, streaming on this machine in bounded memory; spark on a cluster) is the only one that
reads events: which files, every line judged and counted, each event's arm, sessions, and one row
per (user, arm) with the course's metrics' sums, the sessions, the serving counts. The
statistics then work on those rows: effects (stats: course interval, delta method, Holm, CUPED)
-> report, charts and the sequential looks (peeking). LOG may also be a folder that
`botify logs compact` wrote (Parquet): the same report.

Choices where the issue is silent:
- --split weights are in arm order C, T1, T2, ...; they may name more arms than the log has (an
  arm that got no user is the worst mismatch); default: equal over the arms in the log.
- --max-bad-lines is a share of the lines (0.01, or "1%"); blank lines do not count, and a cut
  final line of a file (a live log copied mid-write) is reported apart and not counted. Lines
  with an impossible value (`time` outside [0, 1], a negative id, an unknown `message`) count
  as unusable; exact duplicate lines are dropped and reported but do not count
  (offline.logs.reading).
- Users are counted per arm for the SRM check; a user seen in two arms counts in both, and is a
  unit of each arm in the metrics, as in the course (the header names such users).
- The Holm family is every arm x metric of the course's test; CUPED rows are shown beside it,
  not added to the family. --pre's users are matched by id, whatever their arm then.
- --pre must come after the LOG arguments (it takes every path that follows it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

from botify.arms import CONTROL, arm_names
from botify.config import ConfigError, load_config
from offline.logs.account import LogAccount, account_of
from offline.logs.errors import InputError, run_command
from offline.logs.reading import SCHEMA, Log
from offline.logs.sources import read_whole
from offline.logs.spark_session import DEFAULT_MASTER, conf_pair, master
from offline.report.aggregate import DEFAULT_ENGINE, ENGINES, unit_rows, user_rows
from offline.report.assignment import Assignment
from offline.report.course_json import check_path as check_course_json_path
from offline.report.course_json import write_course_json
from offline.report.metrics import METRICS, arm_table, unit_metrics, with_means
from offline.report.peeking import add_options as add_peeking_options
from offline.report.peeking import peeking_report
from offline.report.serving import SERVING_FIELDS, own_links, serving_of
from offline.report.stats import srm
from offline.report.text import Report, markdown, write_csv


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One line naming the option, instead of argparse's usage block.
        raise InputError(message)


def share(text: str) -> float:
    value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    if not 0 <= value <= 1:
        raise ValueError(text)
    return value


def alpha_value(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise ValueError(text)
    return value


def split_weights(text: str) -> list[float]:
    weights = [float(part) for part in text.replace(":", ",").split(",")]
    if len(weights) < 2 or any(not w > 0 for w in weights):
        raise ValueError(text)
    return weights


share.__name__ = "share (0..1 or N%)"
alpha_value.__name__ = "alpha (between 0 and 1)"
split_weights.__name__ = "split (positive weights per arm, e.g. 50,50)"


def add_max_bad_lines(parser: argparse.ArgumentParser) -> None:
    """--max-bad-lines, for every command that reads logs with load()."""
    parser.add_argument(
        "--max-bad-lines",
        type=share,
        default=0.01,
        metavar="SHARE",
        help="fail when more than this share of lines is unusable (0.01)",
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = ArgumentParser(
        prog="botify ab",
        description="A/B report from botify's event logs: each arm against control, with the "
        "course's effects, delta-method intervals, Holm correction, SRM check and CUPED.",
    )
    parser.add_argument(
        "logs",
        nargs="+",
        metavar="LOG",
        help="event log files or folders (searched recursively, one per replica)",
    )
    parser.add_argument(
        "--experiment",
        metavar="NAME",
        help="the experiment to judge, as named in the events (default: the alphabetically first)",
    )
    parser.add_argument(
        "--control", default=CONTROL, metavar=CONTROL, help=f"the control arm ({CONTROL})"
    )
    parser.add_argument(
        "--alpha",
        type=alpha_value,
        default=0.05,
        metavar="A",
        help="1 - confidence level of the intervals (0.05)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="where to write report.md, effects.csv and the charts (runs/ab/NAME)",
    )
    parser.add_argument(
        "--pre",
        nargs="+",
        metavar="LOG",
        help="an earlier period's logs: each user's metric then is the CUPED covariate "
        "(give it after LOG...)",
    )
    parser.add_argument(
        "--split",
        type=split_weights,
        metavar="W,W,...",
        help="configured share of users per arm, in arm order C,T1,... "
        "(equal), for the sample ratio mismatch check",
    )
    add_max_bad_lines(parser)
    parser.add_argument(
        "--config",
        metavar="CONFIG",
        help="the botify config that served the experiment: the report then checks that each "
        "arm's own recommender (its chain's first link) answered most of its requests",
    )
    parser.add_argument(
        "--course-json",
        type=Path,
        metavar="FILE",
        help="also write the course's grader file (ab_result.json) here",
    )
    parser.add_argument(
        "--engine",
        choices=list(ENGINES),
        default=DEFAULT_ENGINE,
        help=f"what reads the events and reduces them to one row per user and arm "
        f"({DEFAULT_ENGINE}: on this machine, in bounded memory; spark: on a Spark cluster)",
    )
    parser.add_argument(
        "--master",
        type=master,
        default=DEFAULT_MASTER,
        help=f"--engine spark: local[N], spark://HOST:PORT or yarn ({DEFAULT_MASTER})",
    )
    parser.add_argument(
        "--conf",
        type=conf_pair,
        action="append",
        metavar="spark.KEY=VALUE",
        help="--engine spark: a Spark setting, as spark-submit's --conf (repeatable)",
    )
    add_peeking_options(parser)  # --sequential, --mde, --every, --looks
    return parser.parse_args(argv)


def check_lines(account: LogAccount, paths: list[str], limit: float, option: str) -> None:
    """Fail on a log with too many unusable lines, or without events."""
    if account.bad_share > limit:
        examples = "; ".join(str(b) for b in account.bad_examples)
        raise InputError(
            f"{account.bad:,} of {account.lines:,} lines{option} ({account.bad_share:.2%}) are "
            f"unreadable, lack a required field or hold an impossible value, above "
            f"--max-bad-lines {limit:g}: {examples}"
        )
    if not account.events:
        raise InputError(f"no events in {', '.join(paths)}{option}")


def load(paths: list[str], limit: float, option: str) -> Log:
    """The whole log in memory (botify plan), from JSON lines or a compacted folder."""
    log = read_whole(paths, SCHEMA, SERVING_FIELDS)
    check_lines(account_of(log), paths, limit, option)
    return log


def srm_arms(assignment: Assignment, split: list[float] | None) -> tuple[list[str], list[int]]:
    """The arms the split names, with their user counts (an arm without users counts 0)."""
    users = assignment.events.group_by("arm").agg(pl.col("user").n_unique())
    return srm_counts({str(arm): n for arm, n in users.iter_rows()}, assignment.arms, split)


def srm_counts(
    counts: dict[str, int], arms: list[str], split: list[float] | None
) -> tuple[list[str], list[int]]:
    """The arms the split names, with their user counts (an arm without users counts 0)."""
    if split is not None and len(split) != len(arms):
        standard = arm_names(len(split))
        if len(split) < len(arms) or not set(arms) <= set(standard):
            raise InputError(
                f"--split gives {len(split)} weights but the experiment's arms in the logs are "
                f"{', '.join(arms)}"
            )
        arms = standard
    return arms, [counts.get(arm, 0) for arm in arms]


def pre_period_units(log: Log) -> pl.DataFrame:
    """Each user's metrics over the earlier period, whatever their arms then."""
    events = log.events.with_columns(arm=pl.lit("pre"))
    return unit_metrics(events).units.select("user", *METRICS)


def first_experiment(names: list[str]) -> str:
    """The course's rule: the alphabetically first experiment named in the events."""
    if not names:
        raise InputError("no experiment is named in the events' `experiments` fields")
    return min(names)


def switched_users(units: pl.DataFrame) -> pl.DataFrame:
    """Users seen in more than one arm, with their arms in order of first appearance."""
    return (
        units.filter(pl.col("user").is_duplicated())
        .sort("user", "first_ms", "first_seq")
        .group_by("user", maintain_order=True)
        .agg(arms=pl.col("arm").cast(pl.String))
    )


def engine_options(args: argparse.Namespace) -> dict[str, str]:
    """The engine's settings (offline.report.aggregate): Spark's master and --conf pairs."""
    if args.engine != "spark":
        return {}
    return {"master": args.master, **dict(args.conf or [])}


def with_note(text: str, note: str) -> str:
    """The report with `note` as a quoted line under its title."""
    title, _, rest = text.partition("\n\n")
    return f"{title}\n\n> {note}\n\n{rest}"


def run(args: argparse.Namespace) -> int:
    if args.course_json is not None:
        check_course_json_path(args.course_json)
    notes: list[str] = []

    def choose(account: LogAccount) -> str:
        check_lines(account, args.logs, args.max_bad_lines, "")
        if args.experiment is not None:
            if args.experiment not in account.experiments:
                found = ", ".join(account.experiments) or "none"
                raise InputError(
                    f"experiment {args.experiment!r} is not in the logs; experiments found: {found}"
                )
            return args.experiment
        chosen = first_experiment(account.experiments)
        others = [name for name in account.experiments if name != chosen]
        notes.append(
            f"experiment {chosen}: the alphabetically first of the logs' experiments"
            + (f" (others: {', '.join(others)})" if others else "")
            + "; --experiment NAME judges another"
        )
        return chosen

    options = engine_options(args)
    rows = unit_rows(args.logs, choose, args.engine, options)
    args.experiment = rows.experiment
    arms = rows.arm_names
    if args.control not in arms:
        raise InputError(
            f"--control {args.control!r} is not an arm of {args.experiment} in the logs; "
            f"arms found: {', '.join(arms)}"
        )
    if len(arms) < 2:
        raise InputError(
            f"experiment {args.experiment!r} has only arm {arms[0]} in the logs: nothing to compare"
        )
    units = with_means(rows.units)
    users = dict(units.group_by(pl.col("arm").cast(pl.String)).len().iter_rows())
    names, counts = srm_counts(users, arms, args.split)
    split = args.split or [1.0] * len(names)
    chi2, p = srm(counts, split)

    pre = pre_units = None
    if args.pre:
        pre = user_rows(
            args.pre,
            lambda account: check_lines(account, args.pre, args.max_bad_lines, " (--pre)"),
            args.engine,
            options,
        )
        pre_units = with_means(pre.units).select("user", *METRICS)

    own = None
    if args.config:
        try:
            own = own_links(load_config(args.config), args.experiment)
        except ConfigError as error:
            raise InputError(f"--config: {error}") from None
    serving = serving_of(rows.links, rows.versions, rows.lost, rows.span, own)

    from offline.report.effects import effects_table  # scipy: only once there is something to judge

    effects = effects_table(units, arms, args.control, args.alpha, pre_units)
    report = Report(
        experiment=args.experiment,
        control=args.control,
        alpha=args.alpha,
        log=rows.account,
        arm_names=arms,
        span=rows.span,
        events=int(units["events"].sum()),
        users=units["user"].n_unique(),
        unassigned_events=rows.unassigned_events,
        switched_users=switched_users(units),
        arms=arm_table(units, rows.arms),
        split=split,
        srm_arms=names,
        srm_chi2=chi2,
        srm_p=p,
        effects=effects,
        pre_log=None if pre is None else pre.account,
        pre_users=0 if pre_units is None else pre_units.height,
        serving=serving,
    )
    text = markdown(report)
    for note in notes:
        text = with_note(text, note)
    out = args.out or Path("runs") / "ab" / args.experiment
    text += peeking_report(args, units, rows.sessions, arms, rows.span, out)
    write_outputs(out, text, report, rows.sessions)
    if args.course_json is not None:
        write_course_json(effects, args.course_json)
    print(text, end="")
    for note in notes:
        print(f"botify ab: {note}", file=sys.stderr)
    if report.srm_failed:
        print(
            f"botify ab: warning: sample ratio mismatch (p = {p:.2g}): do not trust the results",
            file=sys.stderr,
        )
    for warning in serving.warnings:
        print(f"botify ab: warning: {warning}", file=sys.stderr)
    print(f"botify ab: report written to {out}/", file=sys.stderr)
    if args.course_json is not None:
        print(f"botify ab: grader file written to {args.course_json}", file=sys.stderr)
    return 0


def write_outputs(out: Path, text: str, report: Report, sessions: pl.DataFrame) -> None:
    from offline.report.charts import effect_chart, session_time_chart

    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.md").write_text(text)
        write_csv(report.effects, out / "effects.csv")
        effect_chart(
            report.effects,
            out / "effects.png",
            f"{report.experiment}: effect against {report.control}, "
            f"{1 - report.alpha:.4g} intervals",
        )
        session_time_chart(
            sessions,
            report.arm_names,
            out / "session_time.png",
            f"{report.experiment}: session time per arm",
        )
    except OSError as error:
        raise InputError(f"cannot write to --out {out}: {error.strerror or error}") from None


def main(argv: list[str]) -> int:
    return run_command("botify ab", lambda: run(parse_args(argv)))
