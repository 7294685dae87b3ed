"""The botify service as the listener page talks to it: `POST /next` and `/last` with the body the
simulator sends (`{"track": int, "time": float}`), and `GET /experiments` to name the user's arms.

A person clicks at most a few times a second, so this is plain `requests` (the simulator's own
client, sim.http, is built for thousands of requests a second). Every failure, below HTTP or an
answer that is not what the protocol promises, is a `ServiceError` whose message says what the
service said, never a traceback."""

from __future__ import annotations

import json
from dataclasses import dataclass

import requests

from botify.arms import arm_names, bucket

TIMEOUT_SECONDS = 10.0


class ServiceError(Exception):
    """The service did not give a usable answer; `status` is its HTTP status (None: no answer)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Arms:
    """The user's arm in each experiment the service declares, and which one routes traffic."""

    routing: str
    by_experiment: dict[str, str]

    def routing_arm(self) -> str | None:
        return self.by_experiment.get(self.routing)


def _clip(text: str, limit: int = 200) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "..."


class ServiceClient:
    def __init__(self, url: str, timeout: float = TIMEOUT_SECONDS) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _call(
        self, method: str, path: str, body: dict | None = None, timeout: float | None = None
    ) -> dict:
        where = f"{method} {self.url}{path}"
        timeout = self.timeout if timeout is None else timeout
        try:
            response = requests.request(method, self.url + path, json=body, timeout=timeout)
        except requests.Timeout:
            raise ServiceError(f"{where}: no answer in {timeout:g} s") from None
        except requests.ConnectionError:
            raise ServiceError(f"{where}: the service does not answer (is it running?)") from None
        except requests.RequestException as error:
            raise ServiceError(f"{where}: {type(error).__name__}") from None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code != 200:
            said = payload.get("message") if isinstance(payload, dict) else None
            said = said if isinstance(said, str) else _clip(response.text) or "(no body)"
            raise ServiceError(
                f"{where} answered {response.status_code}: {said}", response.status_code
            )
        if not isinstance(payload, dict):
            raise ServiceError(f"{where} answered 200 with {_clip(response.text)!r}, not JSON")
        return payload

    def next(self, user: int, track: int, time: float) -> int:
        """The recommended track after `user` listened to `time` of `track`."""
        path = f"/next/{user}"
        answer = self._call("POST", path, {"track": track, "time": float(time)})
        recommended = answer.get("track")
        if not isinstance(recommended, int) or isinstance(recommended, bool):
            raise ServiceError(f"POST {self.url}{path} answered {json.dumps(answer)}, no track")
        return recommended

    def last(self, user: int, track: int, time: float) -> None:
        """The session ended after `user` listened to `time` of `track`."""
        self._call("POST", f"/last/{user}", {"track": track, "time": float(time)})

    def track(self, track: int) -> dict:
        """The service's catalog record of `track` (GET /track/<track>)."""
        return self._call("GET", f"/track/{track}", timeout=2.0)

    def arms(self, user: int) -> Arms | None:
        """The user's arms as the service assigns them: its /experiments and botify's bucketing
        (botify.arms, the rule the service itself runs). None when the service does not say
        (a course service without /experiments, or an answer of another shape)."""
        try:
            described = self._call("GET", "/experiments")
        except ServiceError:
            return None
        routing, experiments = described.get("routing"), described.get("experiments")
        if not isinstance(routing, str) or not isinstance(experiments, list):
            return None
        arms: dict[str, str] = {}
        for experiment in experiments:
            name = experiment.get("name") if isinstance(experiment, dict) else None
            count = experiment.get("arms") if isinstance(experiment, dict) else None
            if not isinstance(name, str) or not isinstance(count, int) or count < 1:
                return None
            arms[name] = arm_names(count)[bucket(user, name, count)]
        return Arms(routing, arms)

    def alive(self, timeout: float | None = None) -> str | None:
        """None when the service answers GET /, else what went wrong."""
        try:
            self._call("GET", "/", timeout=timeout)
        except ServiceError as error:
            return error.message
        return None
