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

The pipeline, one module per step: logfiles (which files) -> reading (JSON lines to a table,
bad lines counted) -> assignment (each event's arm) -> metrics (sessions, then the course's
user-level metrics) -> effects (stats: course interval, delta method, Holm, CUPED) -> report and
charts.

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
from offline.logs.errors import InputError, run_command
from offline.logs.logfiles import find_log_files
from offline.logs.reading import Log, read_log
from offline.report.assignment import Assignment, assign
from offline.report.course_json import check_path as check_course_json_path
from offline.report.course_json import write_course_json
from offline.report.metrics import METRICS, arm_summary, unit_metrics
from offline.report.peeking import add_options as add_peeking_options
from offline.report.peeking import peeking_report
from offline.report.serving import SERVING_FIELDS, account, own_links
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
    add_peeking_options(parser)  # --sequential, --mde, --every, --looks
    return parser.parse_args(argv)


def load(paths: list[str], limit: float, option: str) -> Log:
    log = read_log(find_log_files(paths), optional=SERVING_FIELDS)
    if log.bad_share > limit:
        examples = "; ".join(str(b) for b in log.bad_examples)
        raise InputError(
            f"{log.bad:,} of {log.lines:,} lines{option} ({log.bad_share:.2%}) are unreadable, "
            f"lack a required field or hold an impossible value, above --max-bad-lines "
            f"{limit:g}: {examples}"
        )
    if not log.events.height:
        raise InputError(f"no events in {', '.join(paths)}{option}")
    return log


def srm_arms(assignment: Assignment, split: list[float] | None) -> tuple[list[str], list[int]]:
    """The arms the split names, with their user counts (an arm without users counts 0)."""
    users = assignment.events.group_by("arm").agg(pl.col("user").n_unique())
    counts = {str(arm): n for arm, n in users.iter_rows()}
    arms = assignment.arms
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


def first_experiment(log: Log) -> str:
    """The course's rule: the alphabetically first experiment named in the events."""
    names = log.experiment_names()
    if not names:
        raise InputError("no experiment is named in the events' `experiments` fields")
    return min(names)


def with_note(text: str, note: str) -> str:
    """The report with `note` as a quoted line under its title."""
    title, _, rest = text.partition("\n\n")
    return f"{title}\n\n> {note}\n\n{rest}"


def run(args: argparse.Namespace) -> int:
    if args.course_json is not None:
        check_course_json_path(args.course_json)
    log = load(args.logs, args.max_bad_lines, "")
    chosen = None
    if args.experiment is None:
        args.experiment = first_experiment(log)
        others = [name for name in log.experiment_names() if name != args.experiment]
        chosen = (
            f"experiment {args.experiment}: the alphabetically first of the logs' experiments"
            + (f" (others: {', '.join(others)})" if others else "")
            + "; --experiment NAME judges another"
        )
    assignment = assign(log, args.experiment)
    if args.control not in assignment.arms:
        raise InputError(
            f"--control {args.control!r} is not an arm of {args.experiment} in the logs; "
            f"arms found: {', '.join(assignment.arms)}"
        )
    if len(assignment.arms) < 2:
        raise InputError(
            f"experiment {args.experiment!r} has only arm {assignment.arms[0]} in the logs: "
            "nothing to compare"
        )
    names, counts = srm_arms(assignment, args.split)
    split = args.split or [1.0] * len(names)
    chi2, p = srm(counts, split)

    pre_log = pre_units = None
    if args.pre:
        pre_log = load(args.pre, args.max_bad_lines, " (--pre)")
        pre_units = pre_period_units(pre_log)

    own = None
    if args.config:
        try:
            own = own_links(load_config(args.config), args.experiment)
        except ConfigError as error:
            raise InputError(f"--config: {error}") from None
    serving = account(assignment.events, log.files, own)

    metrics = unit_metrics(assignment.events)
    from offline.report.effects import effects_table  # scipy: only once there is something to judge

    effects = effects_table(metrics.units, assignment.arms, args.control, args.alpha, pre_units)
    report = Report(
        experiment=args.experiment,
        control=args.control,
        alpha=args.alpha,
        log=log,
        assignment=assignment,
        arms=arm_summary(assignment.events, metrics),
        split=split,
        srm_arms=names,
        srm_chi2=chi2,
        srm_p=p,
        effects=effects,
        pre_log=pre_log,
        pre_users=0 if pre_units is None else pre_units.height,
        serving=serving,
    )
    text = markdown(report)
    if chosen:
        text = with_note(text, chosen)
    out = args.out or Path("runs") / "ab" / args.experiment
    text += peeking_report(args, assignment.events, assignment.arms, out)
    write_outputs(out, text, report, metrics.sessions)
    if args.course_json is not None:
        write_course_json(effects, args.course_json)
    print(text, end="")
    if chosen:
        print(f"botify ab: {chosen}", file=sys.stderr)
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
            report.assignment.arms,
            out / "session_time.png",
            f"{report.experiment}: session time per arm",
        )
    except OSError as error:
        raise InputError(f"cannot write to --out {out}: {error.strerror or error}") from None


def main(argv: list[str]) -> int:
    return run_command("botify ab", lambda: run(parse_args(argv)))
