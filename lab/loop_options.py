"""The learning loop's own options (`botify experiment --days N`), defined once: lab.days_loop
parses them, and `botify experiment --help` lists them, so the loop is found from the command's
first help page (the loop's options are parsed only by the loop: without --days they are
refused, never ignored)."""

from __future__ import annotations

import argparse
from typing import Any

# What `botify train` learns for the loop: item lists by artist affinity (the method that learns
# from exploring traffic), long enough to hold a session's many artists, and each user's
# enjoyed tracks.
TRAIN_OPTIONS = ("--i2i", "affinity", "--i2i-n", "100", "--users", "enjoyed", "--holdout", "0")
LOOP_ONLY = ("explore", "explore_first", "train", "training", "truth")  # only the loop's
TRAINING = ("pooled", "isolated")


def add_loop_options(parser: argparse.ArgumentParser, listed_only: bool = False) -> None:
    """The loop's options on `parser`. `listed_only`: on `botify experiment`'s own parser, in a
    group of their own, without defaults (so that one given without --days can be refused)."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if listed_only else value

    target: Any = parser
    if listed_only:
        target = parser.add_argument_group(
            "the learning loop",
            "botify experiment --days N [OPTIONS]: N days in-process (the real Service, no "
            "HTTP), T1 learning from all the days before. Of the options above it takes "
            "--quick, --sessions (a number), --seed, --world and --out; --days N --help "
            "describes it",
        )
    target.add_argument(
        "--days",
        type=int,
        required=not listed_only,
        default=default(None),
        metavar="N",
        help="days in the loop (>= 2)",
    )
    target.add_argument(
        "--explore", type=float, default=default(0.05), help="T1's exploration (0.05)"
    )
    target.add_argument(
        "--explore-first",
        type=float,
        default=default(1.0),
        help="T1's exploration on day 1, the cold start with nothing learned to exploit (1.0: "
        "every request a genre-mate; its cost is measured against C)",
    )
    target.add_argument(
        "--train",
        default=default(""),
        metavar="OPTIONS",
        help="more `botify train` options for every day's models, after the loop's own "
        f"({' '.join(TRAIN_OPTIONS)}), e.g. --train='--affinity-bonus 0.02'",
    )
    target.add_argument(
        "--training",
        choices=TRAINING,
        default=default("pooled"),
        help="what T1's models learn from: every day's whole log, both arms' traffic (pooled, "
        "the default), or only T1's own logged traffic (isolated: the data-diverted design)",
    )
    target.add_argument(
        "--truth",
        action="store_true",
        default=default(False),
        help="also run two counterfactual worlds with the same users and random streams, "
        "everyone on C and everyone on T1, each learning from its own traffic: each day's A/B "
        "estimate beside the true effect, its bias, and the ledger of predicted (OPE), "
        "measured and true effects (docs/truth.md)",
    )


def refuse_without_days(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """On `botify experiment`'s own parser: a loop option without --days is an error."""
    for dest in LOOP_ONLY:
        if hasattr(args, dest):
            option = "--" + dest.replace("_", "-")
            parser.error(f"{option} is an option of the learning loop: add --days N")
