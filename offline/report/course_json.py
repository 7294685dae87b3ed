"""The course's homework grader's file, `ab_result.json`, from `botify ab`'s effects table.

    {"all_effects": [{"treatment", "metric", "control_mean", "treatment_mean", "effect_pct",
                      "lower_pct", "upper_pct", "significant"}, ...]}

One row per treatment arm and metric, in the effects table's order (arms T1, T2, ..., each with
the metrics of offline.report.metrics.METRICS in order), keys in the order above. The numbers are
the effects table's (offline.report.effects, the course's Welch interval), only rounded: means to
4 places, percentages to 2 (Python's `round`), `significant` a JSON bool. A value that is not a
finite number (no effect on a zero control mean, an arm without two users) is `null`: the file is
strict JSON, never `NaN`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl

from offline.logs.errors import InputError

# Grader key -> (effects table column, decimal places); None: copied as a bool.
FIELDS: dict[str, tuple[str, int | None]] = {
    "treatment": ("treatment", None),
    "metric": ("metric", None),
    "control_mean": ("control_mean", 4),
    "treatment_mean": ("treatment_mean", 4),
    "effect_pct": ("effect", 2),
    "lower_pct": ("lower", 2),
    "upper_pct": ("upper", 2),
    "significant": ("significant", None),
}


def rounded(value: float | None, places: int) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, places) + 0.0  # + 0.0: no "-0.0" for a value that rounds to zero


def course_rows(effects: pl.DataFrame) -> list[dict]:
    """The grader's rows of an effects table (offline.report.effects.effects_table)."""
    rows = []
    for row in effects.iter_rows(named=True):
        out: dict = {}
        for key, (column, places) in FIELDS.items():
            value = row[column]
            if places is not None:
                out[key] = rounded(value, places)
            elif key == "significant":
                out[key] = bool(value)
            else:
                out[key] = str(value)
        rows.append(out)
    return rows


def course_json(effects: pl.DataFrame) -> str:
    return json.dumps({"all_effects": course_rows(effects)}, indent=2, allow_nan=False) + "\n"


def check_path(path: Path, option: str = "--course-json") -> None:
    """Fail before any work when the file cannot be written where it is asked for."""
    if path.is_dir():
        example = path / "ab_result.json"
        raise InputError(f"{option} {path} is a folder; give a file, e.g. {example}")
    if not path.parent.is_dir():
        raise InputError(f"{option} {path}: folder {path.parent} does not exist")


def write_course_json(effects: pl.DataFrame, path: Path, option: str = "--course-json") -> None:
    try:
        path.write_text(course_json(effects))
    except OSError as error:
        raise InputError(f"cannot write {option} {path}: {error.strerror or error}") from None
