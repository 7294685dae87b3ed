"""The dashboard's state: what the page shows, refreshed from the files at most every
`refresh_seconds`, whatever number of pages ask.

Each refresh reads the bytes appended to the followed logs (lab.dashboard.tail), then the
state of an experiment is botify ab's report on the events read so far (lab.dashboard.judge),
computed once per refresh and experiment. A problem is said in the state, never hidden: input
the report refuses (no events yet, one arm, an unknown experiment) is the state's `message`; a
service that does not answer is `service.status` "unreachable" with the reason.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime

from botify.config import ConfigError, load_config
from lab.dashboard.judge import Judging, choose_experiment, judge, reading
from lab.dashboard.source import DAYS, Followed, Source, followed, routing_experiment
from lab.dashboard.svg import effects_chart, trajectory_chart
from lab.dashboard.tail import LogTail
from lab.dashboard.trajectory import trajectory
from offline.logs.errors import InputError
from offline.logs.reading import Log
from offline.report.serving import SERVING_FIELDS, own_links

SERVICE_TIMEOUT = 2.0  # seconds for the service's /healthz to answer


def two_armed(log: Log) -> dict[str, int]:
    """The log's experiments that name at least two arms, with their event counts."""
    arms: dict[str, set[str]] = {}
    for value in log.experiment_objects.values():
        for name, arm in value.items():
            if isinstance(arm, str) and arm:
                arms.setdefault(name, set()).add(arm)
    return {name: n for name, n in log.experiment_names().items() if len(arms.get(name, ())) > 1}


def service_health(url: str) -> dict:
    """The service's /healthz answer, or why there is none."""
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=SERVICE_TIMEOUT) as answer:
            return {"url": url, "status": "ok", "http_status": answer.status, **body(answer)}
    except urllib.error.HTTPError as error:  # 503: degraded or no data, with its reasons
        return {"url": url, "http_status": error.code, **body(error), "status": "degraded"}
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return {"url": url, "status": "unreachable", "message": f"{url}/healthz: {reason}"}


def body(answer) -> dict:
    try:
        value = json.loads(answer.read())
    except ValueError:
        return {"message": "/healthz did not answer JSON"}
    return {"health": value, "message": value.get("message")} if isinstance(value, dict) else {}


class Dashboard:
    def __init__(
        self,
        source: Source,
        judging: Judging,
        experiment: str | None = None,
        service: str | None = None,
        config: str | None = None,
        refresh_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.judging = judging
        self.experiment = experiment
        self.service = service
        self.config = config  # botify ab --config; a run's own day config otherwise
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self.lock = threading.Lock()
        self.tail: LogTail | None = None
        self.followed = Followed([])
        self.log: Log | None = None
        self.problem: str | None = None  # why nothing could be read at the latest refresh
        self.health: dict | None = None
        self.generation = 0
        self.refreshed_at = -float("inf")
        self.refreshed_utc = ""
        self.states: dict[str | None, dict] = {}

    def refresh(self) -> None:
        """Read what the logs gained (and the service's health) now."""
        self.followed = followed(self.source)
        self.problem = self.followed.waiting
        if self.tail is None or self.tail.paths != self.followed.logs:
            self.tail = (
                LogTail(self.followed.logs, optional=SERVING_FIELDS) if self.followed.logs else None
            )
        self.log = None
        if self.tail is not None:
            try:
                self.tail.refresh()
                self.log = self.tail.log()
            except InputError as error:
                self.problem = str(error)
        if self.service:
            self.health = service_health(self.service)
        self.generation += 1
        self.refreshed_at = self.clock()
        self.refreshed_utc = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        self.states = {}

    def state(self, experiment: str | None = None) -> dict:
        """The page's state for `experiment` (None: the dashboard's choice), as JSON values."""
        with self.lock:
            if self.clock() - self.refreshed_at >= self.refresh_seconds:
                self.refresh()
            if experiment not in self.states:
                self.states[experiment] = self.judged(experiment)
            return self.states[experiment]

    def own(self, experiment: str) -> tuple[dict[str, dict[str, str]], str | None]:
        """The arms' own recommenders, from --config or the run's day config (as botify
        experiment gives botify ab --config), and why they are unknown when the config does
        not say."""
        path = self.config or (str(self.followed.config) if self.followed.config else None)
        if path is None:
            return {}, None
        try:
            return {experiment: own_links(load_config(path), experiment)}, None
        except (ConfigError, InputError, ValueError) as error:
            return {}, f"the config's own recommenders are unknown: {error}"

    def judged(self, asked: str | None) -> dict:
        state: dict = {
            "generation": self.generation,
            "refreshed": self.refreshed_utc,
            "refresh_seconds": self.refresh_seconds,
            "source": {"kind": self.source.kind, "paths": self.source.paths},
            "following": {
                "logs": self.followed.logs,
                "run": str(self.followed.run) if self.followed.run else None,
                "day": self.followed.day,
            },
            "reader": asdict(self.tail.counts) if self.tail else None,
            "service": self.health,
            "message": self.problem,
            "experiments": {},
        }
        log = self.log
        if log is not None and not log.events.height:
            state["reading"] = reading(log)
            state["message"] = state["message"] or "no events in the logs yet"
        elif log is not None:
            state["reading"] = reading(log)
            state["experiments"] = log.experiment_names()
            try:
                preferred = routing_experiment(self.followed.config)
                name, why = choose_experiment(
                    log.experiment_names(), two_armed(log), asked or self.experiment, preferred
                )
                state["chosen"] = why
                own, state["config_problem"] = self.own(name)
                judging = Judging(**{**asdict(self.judging), "own": own})
                state |= judge(log, name, judging)
                state["charts"] = {"effects": effects_chart(state["effects"], judging.control)}
            except InputError as error:
                state["message"] = str(error)
        if self.source.kind == DAYS and self.followed.run is not None:
            rows = trajectory(self.followed.run, self.followed.day, state)
            state["trajectory"] = rows
            if rows:
                charts = state.setdefault("charts", {})
                charts["trajectory"] = trajectory_chart(rows, "mean_time_per_session")
        return state
