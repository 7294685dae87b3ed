"""Each `botify experiment` run recorded in MLflow's local file store (`botify runs --mlflow`).

One MLflow run per lab run, in the MLflow experiment `botify`, named by the run's id and tagged
`botify.run` with it, so that recording again adds only the runs not yet there. It records what
lab.runs read, nothing more: parameters (seed, sessions, world, arms, the flattened config and
each learned file's parameters), metrics (every verdict's effect, interval and significance, the
learned files' offline scores, the duration) and artefacts (summary, reports, effects, configs,
the learned files' meta files; not the logs or the learned files themselves, which can be large
and stay in the run's folder). Needs the `mlflow` extra (mlflow-skinny is enough).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lab.runs import Run
from offline.logs.errors import InputError

EXPERIMENT = "botify"
TAG = "botify.run"
ARTEFACTS = (
    "summary.md",
    "config.day1.json",
    "config.day2.json",
    "sim.yaml",
    "ab/report.md",
    "ab/effects.csv",
    "aa_day1/report.md",
    "aa_day1/effects.csv",
    "report.md",  # a learning loop's (botify experiment --days N)
    "trajectory.json",
)
BATCH = 100  # MLflow takes at most this many parameters per call
MAX_VALUE = 6_000  # characters of a parameter's value


def parameters(run: Run) -> dict[str, str]:
    values: dict[str, Any] = {
        "seed": run.seed,
        "sessions": run.sessions,
        "days": run.days,
        "world": run.world,
        "experiment": run.experiment,
    }
    values |= {f"arm.{arm}": links for arm, links in run.arms.items()}
    values |= {f"config.{key}": value for key, value in run.config.items()}
    for name, model in run.models.items():
        values |= {f"model.{name}.{key}": value for key, value in model.items()}
    return {key: str(value)[:MAX_VALUE] for key, value in values.items() if value is not None}


def metrics(run: Run) -> dict[str, float]:
    values: dict[str, float] = {}
    for day, rows in (("aa", run.aa), ("ab", run.ab)):
        for row in rows:
            key = f"{day}.{row['treatment']}.{row['metric']}"
            for column in ("effect", "lower", "upper", "p_value"):
                try:
                    values[f"{key}.{column}"] = float(row[column])
                except (KeyError, ValueError):
                    continue
            values[f"{key}.significant"] = float(row.get("significant") == "true")
            values[f"{key}.significant_holm"] = float(row.get("significant_holm") == "true")
    for name, scores in run.offline.items():
        values |= {f"offline.{name}.{score}": value for score, value in scores.items()}
    if run.seconds is not None:
        values["duration_s"] = float(run.seconds)
    return {key: value for key, value in values.items() if value == value}  # NaN: no value


def record_runs(runs: list[Run], store: Path) -> int:
    """Record the runs not yet in the file store at `store`; returns how many were added."""
    # MLflow 3 keeps its file store in maintenance mode behind this switch; it is the store
    # asked for here (plain files beside the runs, no database).
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    try:
        from mlflow.entities import Metric, Param
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise InputError(
            "--mlflow needs MLflow: pip install -e '.[mlflow]' (or mlflow-skinny)"
        ) from None
    store.mkdir(parents=True, exist_ok=True)
    client = MlflowClient(tracking_uri=store.resolve().as_uri())
    experiment = client.get_experiment_by_name(EXPERIMENT)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(EXPERIMENT)
    known = {
        found.data.tags.get(TAG)
        for found in client.search_runs([experiment_id], max_results=50_000)
    }
    added = 0
    for run in runs:
        if run.id in known:
            continue
        start_ms = int(run.date.timestamp() * 1000) if run.date else None
        created = client.create_run(
            experiment_id, start_time=start_ms, tags={TAG: run.id}, run_name=run.id
        )
        run_id = created.info.run_id
        params = [Param(key, value) for key, value in parameters(run).items()]
        for first in range(0, len(params), BATCH):
            client.log_batch(run_id, params=params[first : first + BATCH])
        stamp = start_ms or 0
        values = [Metric(key, value, stamp, 0) for key, value in metrics(run).items()]
        for first in range(0, len(values), BATCH):
            client.log_batch(run_id, metrics=values[first : first + BATCH])
        for name in ARTEFACTS:
            path = run.path / name
            if path.is_file():
                client.log_artifact(run_id, str(path), str(Path(name).parent).strip("."))
        for meta in sorted(run.model.glob("*.meta.json")) if run.model else []:
            client.log_artifact(run_id, str(meta), "model")
        end_ms = start_ms + run.seconds * 1000 if start_ms and run.seconds is not None else None
        client.set_terminated(run_id, "FINISHED" if run.complete else "FAILED", end_time=end_ms)
        added += 1
    return added
