"""Arm names and the course's bucketing of users into arms: the one owner of both.

`mmh3.hash(str(user), mmh3.hash(experiment), signed=False) % n_arms`; arm 0 is "C", then "T1",
"T2", ... A user lands in the same arm as in the course's service.
"""

from __future__ import annotations

import re

import mmh3

CONTROL = "C"
_TREATMENT = re.compile(r"T(\d+)")


def arm_names(n_arms: int) -> list[str]:
    """The arms of an experiment with `n_arms` arms, in bucket order: C, T1, T2, ..."""
    return [CONTROL] + [f"T{i}" for i in range(1, n_arms)]


def arm_order(label: str) -> tuple[int, int, str]:
    """Sort key of an arm label: C, then T1, T2, ... by number, then any other label by name."""
    treatment = _TREATMENT.fullmatch(label)
    if label == CONTROL:
        return (0, 0, label)
    if treatment:
        return (1, int(treatment.group(1)), label)
    return (2, 0, label)


def experiment_seed(experiment: str) -> int:
    """`mmh3.hash(experiment)` as the course's mmh3 (3.x) used it as a seed: reduced to 32 unsigned
    bits. mmh3 4+ refuses negative seeds; the unsigned hash is the same seed."""
    return mmh3.hash(experiment, signed=False)


def bucket(user: int, experiment: str, n_arms: int, seed: int | None = None) -> int:
    """The course's assignment of a user to an arm number. `seed`: `experiment_seed(experiment)`,
    when the caller has it already."""
    if seed is None:
        seed = experiment_seed(experiment)
    return mmh3.hash(str(user), seed, signed=False) % n_arms
