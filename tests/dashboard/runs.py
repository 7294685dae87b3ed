"""Run folders laid out as `botify experiment` and `botify experiment --days` leave them (the
files the dashboard and the registry read: day configs, day logs, each judged day's effects.csv
written by botify ab itself), with lab.synthetic's traffic for logs."""

from __future__ import annotations

import json
from pathlib import Path

from lab.synthetic import json_lines, make_users, simulate, to_frame
from tests.dashboard.report import botify_ab

STICKY = [{"recommender": "sticky_artist", "no_repeat": True}]
LEARNED = [{"recommender": "history_i2i", "source": "i2i"}, {"recommender": "top_pop"}]


def write_day_log(run: Path, day: int, experiments: dict[str, int], seed: int) -> Path:
    folder = run / "logs" / f"day{day}"
    folder.mkdir(parents=True)
    users = make_users(300, seed=seed)
    effects = {"T1": 0.06} if next(iter(experiments.values())) > 1 else None
    events = simulate(users, experiments, seed=seed + 1, effects=effects)
    (folder / "events.jsonl").write_bytes(json_lines(to_frame(events)))
    return folder


def write_config(run: Path, day: int, routing: str, experiments: list[dict]) -> Path:
    path = run / f"config.day{day}.json"
    path.write_text(json.dumps({"routing_experiment": routing, "experiments": experiments}))
    return path


def two_day_run(runs: Path, run_id: str, day2: bool = True) -> Path:
    """`botify experiment`'s run: day 1 COLD_START (one arm) with AA, day 2 STICKY_VS_LEARNED."""
    run = runs / run_id
    run.mkdir(parents=True)
    write_config(
        run,
        1,
        "COLD_START",
        [{"name": "COLD_START", "arms": {"C": STICKY}}, {"name": "AA", "arms": 2}],
    )
    write_day_log(run, 1, {"COLD_START": 1, "AA": 2}, seed=1)
    if day2:
        add_day2(run)
    return run


def add_day2(run: Path) -> None:
    arms = {"C": STICKY, "T1": LEARNED}
    write_config(run, 2, "STICKY_VS_LEARNED", [{"name": "STICKY_VS_LEARNED", "arms": arms}])
    write_day_log(run, 2, {"STICKY_VS_LEARNED": 2, "AA": 2}, seed=2)


def loop_day(run: Path, day: int, judged: bool) -> None:
    """One day of a learning loop: its config, its log, and (judged) botify ab's verdict on LOOP
    where lab.days_loop.judge writes it."""
    experiments = [
        {"name": "LOOP", "arms": {"C": STICKY, "T1": LEARNED}},
        {"name": f"AA{day}", "arms": 2},
    ]
    write_config(run, day, "LOOP", experiments)
    logs = write_day_log(run, day, {"LOOP": 2, f"AA{day}": 2}, seed=10 * day)
    if judged:
        botify_ab(logs, run / f"ab.day{day}.LOOP", "LOOP")


def learning_loop(runs: Path, run_id: str, judged_days: int, live_day: bool) -> Path:
    run = runs / run_id
    run.mkdir(parents=True)
    for day in range(1, judged_days + 1):
        loop_day(run, day, judged=True)
    if live_day:
        loop_day(run, judged_days + 1, judged=False)
    return run
