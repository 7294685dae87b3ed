"""The HTTP service: an application factory, as in Flask's tutorial. Nothing happens at import.

Endpoints (the course's four, exactly compatible, plus three):
  GET  /                 -> {"status": "alive", "message": ...}
  GET  /track/<track>    -> the catalog's record of the track; 404 if unknown
  POST /next/<user>      {"track": int, "time": float} -> {"user": int, "track": int}
  POST /last/<user>      {"track": int, "time": float} -> {"user": int}
  GET  /healthz          -> 200 when Redis answers (on a cluster: serves every slot), a data
                            version is loaded and the event log takes writes, else 503; with the
                            log's counts and the chain links that failed, in the worker that
                            answered
  GET  /experiments      -> the experiments, their arms and each arm's recommender chain
  GET  /metrics          -> the service's counts in Prometheus' text format, summed over the
                            workers (botify.metrics)

Every error is JSON {"message": ...}: 4xx naming what was wrong (413 for a body over
max_body_bytes however it is sent, 400 for a body shorter than its Content-Length), 503 when
Redis is unreachable or no data is loaded (saying which, never Redis's own words: those go to the
server log), 503 "overloaded" with Retry-After when the worker is too far behind to serve in time
(botify.overload), 500 for data in Redis that botify did not write; a rejected request changes no
state and logs no event.
"""

from __future__ import annotations

import logging
import time

import redis
import ujson
from flask import Flask, Response, make_response, request
from flask.typing import ResponseReturnValue
from flask_restful import Api, Resource
from redis.exceptions import ClusterError
from werkzeug.exceptions import HTTPException

from botify.config import Config
from botify.data import DataView, NoData
from botify.eventlog import EventLog
from botify.experiments import build_experiments
from botify.metrics import ServiceMetrics
from botify.metrics_copy import HealthCopy
from botify.overload import RETRY_AFTER_SECONDS, LoadGauge
from botify.roundtrip import UNAVAILABLE
from botify.service import Service
from botify.store import RedisStore
from botify.validation import BadInput, parse_id, parse_listen
from botify.worktime import work_clock

log = logging.getLogger(__name__)


def error(status: int, message: str):
    return {"message": message}, status


def answer(payload: dict) -> Response:
    """A 200 in JSON, made here: flask-restful passes a response through as it is, without
    choosing a representation for it."""
    return Response(ujson.dumps(payload, ensure_ascii=False), mimetype="application/json")


class RateLimitedLog:
    """At most one server-log line a second for a repeated failure (an outage fails every
    request), with the count of those not shown."""

    def __init__(self) -> None:
        self.last = float("-inf")
        self.hidden = 0

    def warning(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self.last < 1.0:
            self.hidden += 1
            return
        suffix = f" (and {self.hidden} more like it)" if self.hidden else ""
        log.warning(message + suffix, *args)
        self.last, self.hidden = now, 0


outages = RateLimitedLog()
overloads = RateLimitedLog()


def overloaded(gauge: LoadGauge, what: str):
    """503 "overloaded" with Retry-After (botify.overload), said in the server log."""
    overloads.warning(
        "worker overloaded (%.0f ms behind): %s; shed %d, late on Redis %d so far",
        gauge.lag() * 1000,
        what,
        gauge.shed,
        gauge.late_on_redis,
    )
    return {"message": "overloaded"}, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def redis_failure(
    failure: redis.RedisError, metrics: ServiceMetrics, gauge: LoadGauge | None = None
):
    """A 503 for an outage, a 500 for a data error; the details go to the server log only
    (they name hosts, ports and users). An outage met while the worker is late (`gauge`) is the
    worker's overload, not Redis's (counted as such)."""
    if isinstance(failure, redis.ResponseError) and not isinstance(failure, ClusterError):
        # e.g. WRONGTYPE: a key botify did not write (CLUSTERDOWN is an outage, below)
        log.error("unexpected data in Redis: %s", failure)
        metrics.redis_error("unexpected_data")
        return error(500, "internal error: unexpected data in Redis (see the server log)")
    if gauge is not None and gauge.late_for_redis():
        return overloaded(gauge, f"a Redis reply read too late ({failure})")
    outages.warning("Redis is unavailable: %s", failure)
    metrics.redis_error("unavailable")
    return error(503, "Redis is unavailable")


def guarded(handler):
    """Turn the service's known failures into JSON answers, never a 500 with a traceback; shed
    the request at once while the worker is overloaded."""

    def wrapper(resource: ServiceResource, *args, **kwargs):
        if resource.gauge.should_shed():
            return overloaded(resource.gauge, "a request shed")
        try:
            return handler(resource, *args, **kwargs)
        except BadInput as bad:
            return error(bad.status, bad.message)
        except NoData as missing:
            return error(503, str(missing))
        except redis.RedisError as failure:
            return redis_failure(failure, resource.metrics, resource.gauge)

    wrapper.__name__ = handler.__name__
    return wrapper


def read_body(limit: int) -> bytes:
    """The request's whole body, read from the server's own input stream: a body over `limit`
    bytes is refused whether it declares its length or is sent in chunks, and one shorter than
    its Content-Length (the client gave up) is refused rather than taken as complete."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise BadInput(f"body: {declared} bytes, above the limit of {limit}", status=413)
    stream = request.environ["wsgi.input"]
    if declared is None:
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise BadInput(f"body: above the limit of {limit} bytes", status=413)
        return body
    body = stream.read(declared) if declared else b""
    if len(body) < declared:
        raise BadInput(f"body: {len(body)} bytes of the {declared} that Content-Length announced")
    return body


class Hello(Resource):
    def get(self):
        return {"status": "alive", "message": "welcome to botify, the best toy music recommender"}


class ServiceResource(Resource):
    """A resource of the running service: its decisions (`service`), its Redis (`store`), the
    largest body it takes, its load gauge and its metrics. One instance serves every request
    (it keeps nothing of them)."""

    init_every_request = False

    def __init__(
        self,
        service: Service,
        store: RedisStore,
        body_limit: int,
        gauge: LoadGauge,
        metrics: ServiceMetrics,
    ):
        self.service = service
        self.store = store
        self.body_limit = body_limit
        self.gauge = gauge
        self.metrics = metrics


class Track(ServiceResource):
    @guarded
    def get(self, track: str):
        record = self.store.track_record(parse_id(track, "track"))
        if record is None:
            return error(404, f"track: {track} is not in the catalog")
        return record


class Listen(ServiceResource):
    """POST /next and /last: a user's listen of a track; `method` is the service's."""

    method = ""

    @guarded
    def post(self, user: str):
        arrived = self.service.arrival()
        user_id = parse_id(user, "user")
        self.metrics.routed(user_id)
        track, listened = parse_listen(read_body(self.body_limit))
        return answer(getattr(self.service, self.method)(user_id, track, listened, arrived))


class NextTrack(Listen):
    method = "next"


class LastTrack(Listen):
    method = "last"


class Health(ServiceResource):
    def get(self):
        try:
            snapshot = self.store.current_snapshot()
        except NoData as missing:
            return error(503, str(missing))
        except UNAVAILABLE as failure:
            # On a cluster, the version key's node may be down while the others serve.
            if not self.store.on_cluster or self.store.latest is None:
                return redis_failure(failure, self.metrics)
            snapshot = self.store.latest
        except redis.RedisError as failure:
            return redis_failure(failure, self.metrics)
        events = self.service.events
        log_state = events.stats() if isinstance(events, EventLog) else None
        failed = self.service.experiments.failures()
        health = {
            "status": "ok",
            "version": snapshot.version,
            "tracks": len(snapshot.catalog),
            "log": log_state,
            "failed_links": failed,
            "redis": self.store.topology(),
            "overload": self.gauge.stats(),
        }
        not_serving = health["redis"].pop("message", "")
        if not_serving:
            # Some slots are not served (a master down, or back but not yet rejoined): this
            # service cannot answer every user now, as when its log cannot be written.
            health["status"] = "degraded"
            health["message"] = not_serving
        if log_state is not None and log_state["status"] != "ok":
            health["status"] = "degraded"
            # Events waiting for a write that keeps failing: this worker cannot log now.
            if log_state["pending"]:
                log_message = f"the event log cannot be written: {log_state['error']}"
                health["message"] = "; ".join(filter(None, [not_serving, log_message]))
                return health, 503
        if not_serving:
            return health, 503
        return health


class Experiments(ServiceResource):
    def get(self):
        return self.service.experiments.describe()


class JsonApi(Api):
    """flask-restful with every error as {"message": ...} (also 404s, 405s, 413s)."""

    def handle_error(self, e):
        if isinstance(e, HTTPException):
            # e.g. Allow on a 405; the body is ours, so not its Content-Type
            headers = {k: v for k, v in e.get_headers() if k.lower() != "content-type"}
            return self.make_response({"message": e.description}, e.code, headers=headers)
        log.exception("unexpected error")
        return self.make_response({"message": "internal error"}, 500)


def create_app(
    config: Config,
    store: RedisStore | None = None,
    events: EventLog | None = None,
    in_flight: int = 100,
):
    """The Flask app for `config`. Pass `store` or `events` to share them (tests, in-process).
    `in_flight`: the requests this process may handle at once (its Redis pool's size)."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config["max_body_bytes"]
    if store is None:
        store = RedisStore.for_config(config, in_flight)
    if events is None:
        events = EventLog(
            config.path(config["log_dir"]),
            config["log_max_bytes"],
            config["log_backups"],
            retry_seconds=config["log_retry_seconds"],
            retry_events=config["log_retry_events"],
            file_name=config["log_file"],
            write_through=True,  # answered means written: see botify.eventlog
        )
    data = DataView(store)
    experiments = build_experiments(config, data)
    metrics = ServiceMetrics(experiments.routing)
    service = Service(
        store, data, experiments, events, work_seconds=work_clock(), observe=metrics.answered
    )
    gauge = LoadGauge(config["overload_lag_seconds"], config["redis_timeout_seconds"])
    health_copy = HealthCopy(metrics, events, experiments, store, gauge)
    health_copy.start()
    app.extensions["botify"] = service
    app.extensions["botify_metrics_copy"] = health_copy

    @app.before_request
    def request_started() -> None:
        metrics.request_started()

    @app.after_request
    def request_done(response: Response) -> Response:
        metrics.request_done(response.status_code)
        return response

    def metrics_page() -> ResponseReturnValue:
        health_copy.copy()  # this worker's own counts as of now
        body, content_type = metrics.page(request.headers.get("Accept"))
        return Response(body, content_type=content_type)

    app.add_url_rule("/metrics", endpoint="metrics", view_func=metrics_page)

    api = JsonApi(app, catch_all_404s=True)

    @api.representation("application/json")
    def output_json(payload, code, headers=None):
        response = make_response(ujson.dumps(payload, ensure_ascii=False), code)
        response.headers.extend(headers or {})
        response.mimetype = "application/json"
        return response

    kwargs = {
        "resource_class_kwargs": {
            "service": service,
            "store": store,
            "body_limit": config["max_body_bytes"],
            "gauge": gauge,
            "metrics": metrics,
        }
    }
    # The endpoint names are the metrics' `endpoint` label (botify.metrics.ENDPOINTS).
    api.add_resource(Hello, "/", endpoint="hello")
    api.add_resource(Track, "/track/<track>", endpoint="track", **kwargs)
    api.add_resource(NextTrack, "/next/<user>", endpoint="next", **kwargs)
    api.add_resource(LastTrack, "/last/<user>", endpoint="last", **kwargs)
    api.add_resource(Health, "/healthz", endpoint="healthz", **kwargs)
    api.add_resource(Experiments, "/experiments", endpoint="experiments", **kwargs)
    return app
