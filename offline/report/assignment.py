"""Which arm each event belongs to, for one experiment.

The service writes each user's arm of every running experiment into the event
(`"experiments": {"NAME": "C" | "T1" | ...}`). Events that do not name the experiment (or name
no string arm) are left out and counted. Arms are ordered C, T1, T2, ... as the service numbers
them (botify.arms.arm_order: mmh3 bucket 0 is C), then any other label by name.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from botify.arms import arm_order
from offline.logs.errors import InputError
from offline.logs.reading import Log


@dataclass
class Assignment:
    events: pl.DataFrame  # the log's events with an `arm` column, only those in the experiment
    arms: list[str]
    unassigned_events: int  # events that carry no arm of the experiment
    # users seen in more than one arm, with their arms in order of first appearance
    switched_users: pl.DataFrame


def assign(log: Log, experiment: str) -> Assignment:
    names = log.experiment_names()
    if experiment not in names:
        found = ", ".join(names) if names else "none"
        raise InputError(
            f"experiment {experiment!r} is not in the logs; experiments found: {found}"
        )
    labels = {}
    for text, value in log.experiment_objects.items():
        label = value.get(experiment)
        labels[text] = label if isinstance(label, str) and label else None
    arms = sorted({label for label in labels.values() if label}, key=arm_order)
    if not arms:
        raise InputError(f'experiment {experiment!r} names no arm (a string such as "C") anywhere')
    # An Enum in arm order: compact, and sorts C, T1, T2, ...
    arm = pl.col("experiments").replace_strict(labels, default=None, return_dtype=pl.Enum(arms))
    events = log.events.with_columns(arm=arm)
    assigned = events.filter(pl.col("arm").is_not_null()).drop("experiments")
    arms = [a for a in arms if a in set(assigned["arm"].unique().cast(pl.String).to_list())]
    arm_counts = assigned.group_by("user").agg(pl.col("arm").n_unique())
    switched_ids = arm_counts.filter(pl.col("arm") > 1)["user"]
    switched = (
        assigned.filter(pl.col("user").is_in(switched_ids.implode()))
        .sort("timestamp", "seq")
        .group_by("user")
        .agg(arms=pl.col("arm").cast(pl.String).unique(maintain_order=True))
        .sort("user")
    )
    return Assignment(
        events=assigned,
        arms=arms,
        unassigned_events=events.height - assigned.height,
        switched_users=switched,
    )
