"""What a `botify experiment` run folder holds, read back: the registry's one record per run.

Everything comes from files the run already wrote (nothing is logged twice): the id and start
time from the folder's name, the world from config.day1.json's catalog, the config from the
last day's config and sim.yaml. Two kinds of run:

- a two-day run (`botify experiment`, folder <start time>): seed, sessions a day and duration
  from summary.md, the arms from config.day2.json, the learned files' parameters and offline
  metrics from model/*.meta.json, the verdicts from aa_day1/effects.csv and ab/effects.csv;
- a learning loop (`botify experiment --days N`, folder days-<start time>): seed, sessions a
  day, days and duration from report.md, the arms from the last judged day's config, the files
  learned for that day from model<day - 1>/*.meta.json, the verdicts of that day's A/A and A/B
  from ab.day<day>.AA<day>/effects.csv and ab.day<day>.LOOP/effects.csv.

Logs and learned files themselves are never read, so listing many runs stays quick. A run that
stopped early lacks some files: what is missing is shown as missing, never guessed.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

ID_FORMAT = "%Y%m%d-%H%M%S"  # lab.experiment names each run folder by its start time
DAYS_ID_FORMAT = "days-" + ID_FORMAT  # and lab.days_loop each --days run's
# lab.summary's line, "Seed 42, 3000 sessions a day, 71 s in all.", and lab.days_loop's, which
# names its days: "Seed 42, 3000 sessions a day for 7 days, 431 s in all."
SUMMARY_LINE = re.compile(
    r"Seed (-?\d+), (\d+) sessions a day(?: for (\d+) days)?, (\d+) s in all\."
)
DAY_CONFIG = re.compile(r"config\.day(\d+)\.json")
# Keys of a day's config that differ on every run without saying anything about it.
RUN_SPECIFIC = ("redis_url",)
# Fields of a learned file's meta that describe the run's data, not the model: compared apart.
META_NOT_MODEL = ("model", "file", "trained_at", "logs", "log", "catalog", "evaluation")


@dataclass
class Run:
    id: str
    path: Path
    date: datetime | None = None  # the start time its folder is named by
    started: float = 0.0  # for ordering: the date, else when config.day1.json was written
    learning_loop: bool = False  # a `botify experiment --days N` run
    seed: int | None = None
    sessions: int | None = None
    days: int | None = None
    seconds: int | None = None
    world: str | None = None
    world_tracks: int | None = None
    experiment: str | None = None
    arms: dict[str, str] = field(default_factory=dict)  # arm -> its chain, "a > b > c"
    config: dict[str, Any] = field(default_factory=dict)  # flattened, run folder as <run>
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # file -> flattened meta
    offline: dict[str, dict[str, float]] = field(default_factory=dict)  # file -> its scores
    model: Path | None = None  # the folder of the learned files read (model/ or model<N>/)
    aa_day: int | None = None  # the day of the A/A verdict read
    ab_day: int | None = None  # the day of the A/B verdict read
    aa: list[dict[str, str]] = field(default_factory=list)  # that A/A's effects.csv rows
    ab: list[dict[str, str]] = field(default_factory=list)  # that A/B's effects.csv rows

    @property
    def complete(self) -> bool:
        return self.seconds is not None


def is_run(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and (path / "config.day1.json").is_file()


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts and lists as dotted keys: {"a": {"b": [1]}} -> {"a.b.0": 1}."""
    items: Iterable[tuple[Any, Any]]
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list) and value and any(isinstance(v, dict | list) for v in value):
        items = ((str(i), v) for i, v in enumerate(value))
    else:
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, inner in items:
        flat.update(flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="") as file:
            return list(csv.DictReader(file))
    except OSError:
        return []


def chain(arm: Any) -> str:
    if not isinstance(arm, list):
        return "?"
    return " > ".join(str(link.get("recommender", "?")) for link in arm if isinstance(link, dict))


def without_run_folder(value: Any, folder: str) -> Any:
    """Paths inside the run's own folder written as <run>/..., so two runs compare."""
    if isinstance(value, str):
        return value.replace(folder, "<run>")
    if isinstance(value, dict):
        return {k: without_run_folder(v, folder) for k, v in value.items()}
    if isinstance(value, list):
        return [without_run_folder(v, folder) for v in value]
    return value


def own_score(meta: dict) -> dict[str, float]:
    """The learned file's own offline scores: its method's row (i2i writes one of several)."""
    # `evaluation` is null for a file trained without a holdout (the learning loop's)
    evaluation = meta.get("evaluation") or {}
    scores = [s for s in evaluation.get("scores") or [] if isinstance(s, dict)]
    method = (meta.get("parameters") or {}).get("method")
    mine = [s for s in scores if s.get("model") == f"{meta.get('model')} {method}"]
    best = (mine or scores[-1:] or [{}])[0]
    return {k: float(v) for k, v in best.items() if k in ("hit_rate", "ndcg", "coverage")}


def start_time(name: str) -> tuple[datetime | None, bool]:
    """(the start time a run folder is named by, whether it is a --days run's name)."""
    for format, learning_loop in ((ID_FORMAT, False), (DAYS_ID_FORMAT, True)):
        try:
            return datetime.strptime(name, format), learning_loop
        except ValueError:
            continue
    return None, name.startswith("days-")


def last_judged_day(path: Path) -> int:
    """A --days run's last day with a config, of those whose A/B was judged when any was."""
    days = sorted(int(m[1]) for p in path.iterdir() if (m := DAY_CONFIG.fullmatch(p.name)))
    judged = [day for day in days if any(path.glob(f"ab.day{day}.*/effects.csv"))]
    return (judged or days or [1])[-1]


def read_run(path: Path) -> Run:
    run = Run(id=path.name, path=path)
    run.date, run.learning_loop = start_time(path.name)
    # A folder renamed by hand still sorts by when it began: its first config is written then.
    run.started = run.date.timestamp() if run.date else (path / "config.day1.json").stat().st_mtime
    summary = path / ("report.md" if run.learning_loop else "summary.md")
    match = SUMMARY_LINE.search(summary.read_text()) if summary.is_file() else None
    if match:
        seed, sessions, days, seconds = match.groups()
        run.seed, run.sessions, run.seconds = int(seed), int(sessions), int(seconds)
        run.days = int(days) if days else None
    if not run.learning_loop:
        run.days = 2  # what `botify experiment` runs, complete or not
    day = last_judged_day(path) if run.learning_loop else 2
    folder = str(path.resolve())
    day1 = read_json(path / "config.day1.json") or {}
    catalog = day1.get("data", {}).get("catalog") if isinstance(day1, dict) else None
    run.world = str(Path(catalog).parent) if isinstance(catalog, str) else None
    served = read_json(path / f"config.day{day}.json")
    if isinstance(served, dict):
        served = without_run_folder(
            {k: v for k, v in served.items() if k not in RUN_SPECIFIC}, folder
        )
        run.experiment = served.get("routing_experiment")
        named = (e for e in served.get("experiments", []) if e.get("name") == run.experiment)
        spec: dict[str, Any] = next(named, {})
        arms = spec.get("arms", {})
        run.arms = (
            {arm: chain(links) for arm, links in arms.items()}
            if isinstance(arms, dict)
            else {f"{arms} arms": "A/A"}
        )
        run.config = flatten(served)
    try:
        sim = yaml.safe_load((path / "sim.yaml").read_text())
    except (OSError, yaml.YAMLError):
        sim = None
    if isinstance(sim, dict):
        run.config.update(flatten(without_run_folder(sim, folder), "sim"))
    # The files learned for that day, and its verdicts (where lab.days_loop.judge writes them).
    if run.learning_loop:
        run.model, run.aa_day, run.ab_day = path / f"model{day - 1}", day, day
        aa, ab = path / f"ab.day{day}.AA{day}", path / f"ab.day{day}.{run.experiment}"
    else:
        run.model, run.aa_day, run.ab_day = path / "model", 1, 2
        aa, ab = path / "aa_day1", path / "ab"
    for meta_path in sorted(run.model.glob("*.meta.json")):
        meta = read_json(meta_path)
        if not isinstance(meta, dict):
            continue
        name = str(meta.get("file", meta_path.name.removesuffix(".meta.json")))
        model = {k: v for k, v in meta.items() if k not in META_NOT_MODEL}
        run.models[name] = flatten(model)
        run.offline[name] = own_score(meta)
        run.world_tracks = run.world_tracks or meta.get("catalog_tracks")
    run.aa = read_csv(aa / "effects.csv")
    run.ab = read_csv(ab / "effects.csv")
    return run


def read_runs(folder: Path) -> list[Run]:
    """Every run under `folder`, oldest first by start time."""
    if not folder.is_dir():
        return []
    runs = [read_run(path) for path in folder.iterdir() if is_run(path)]
    return sorted(runs, key=lambda run: (run.started, run.id))


def latest_id(folder: Path) -> str | None:
    """The run `folder`/latest points to (lab.experiment's newest two-day run), if any."""
    latest = folder / "latest"
    if not latest.is_symlink():
        return None
    target = latest.resolve()
    return target.name if target.parent == folder.resolve() and is_run(target) else None


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """ "key: old -> new" for every key that differs (added and removed keys too)."""
    lines = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key, "(none)"), after.get(key, "(none)")
        if old != new:
            lines.append(f"{key}: {json.dumps(old)} -> {json.dumps(new)}")
    return lines


def run_changes(before: Run, after: Run) -> list[str]:
    """What changed from one run to the next: size and seed, config, learned files."""
    lines = changes(
        {
            "seed": before.seed,
            "sessions": before.sessions,
            "days": before.days,
            "world": before.world,
        },
        {"seed": after.seed, "sessions": after.sessions, "days": after.days, "world": after.world},
    )
    lines += [f"config {line}" for line in changes(before.config, after.config)]
    for name in sorted(before.models.keys() | after.models.keys()):
        old, new = before.models.get(name, {}), after.models.get(name, {})
        lines += [f"{name} {line}" for line in changes(old, new)]
    return lines
