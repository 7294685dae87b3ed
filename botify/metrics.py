"""GET /metrics: the service's counts in Prometheus' text format (prometheus_client).

Under gunicorn each worker is a process of its own. In prometheus_client's multiprocess mode
(PROMETHEUS_MULTIPROC_DIR, set up by botify.metrics_dir) each worker keeps its values in files of
that folder, and a scrape, answered by any worker, sums the files of every worker: also of those
that have exited since (a reload, a crash, a SIGKILL), so their counts stay in the sums. A gauge
is per live worker (a `pid` label) and goes when its worker exits (gunicorn's child_exit hook).
Without that variable (the service in one process, as the tests and the in-process runs build
it) the values are this app's own.

Values come in two ways:
- what each request does is counted as it happens (`request_done`, `answered`): requests by
  endpoint, experiment, arm and status, their wall time, the /next answers by the chain link that
  gave them and the fallbacks, the work time of /next and /last;
- the counts the service already keeps for /healthz (its event log, failed chain links, Redis,
  overload) are copied in by each worker once a second and at its graceful stop
  (botify.metrics_copy): no second bookkeeping on the request path.
"""

from __future__ import annotations

import os
import time
from typing import Any

from flask import request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from botify.experiments import Experiment

# A request's wall time: the service's p50 is some 1 to 10 ms, so the buckets are finest there.
SECONDS_BUCKETS = (
    0.0005,
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)
# Where a request keeps what its count needs (its WSGI environ: one per request, also under gevent).
STARTED = "botify.metrics.started"
ROUTED = "botify.metrics.routed"
NOT_ROUTED = ("", "")  # (experiment, arm) of a request that no user was routed for
# Flask endpoint -> the label; a URL that matched no route is "other" (never the raw path).
ENDPOINTS = ("hello", "track", "next", "last", "healthz", "experiments", "metrics")
LOST_REASONS = ("write_failed", "rotated")
# Requests answered 503 or 500 for Redis (counted here), and counts of the Redis client's.
REDIS_ERROR_KINDS = (
    "unavailable",
    "unexpected_data",
    "unwaited_write",
    "node_error",
    "failed_fast",
)


def multiprocess_mode() -> bool:
    """Whether prometheus_client keeps values in PROMETHEUS_MULTIPROC_DIR's files. It decides
    when it is first imported: botify serve sets the variable before that."""
    multiprocess = bool(getattr(values.ValueClass, "_multiprocess", False))
    if multiprocess != bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR")):
        raise RuntimeError(
            "prometheus_client was imported before PROMETHEUS_MULTIPROC_DIR was set (or unset): "
            "the workers' metrics would not be summed"
        )
    return multiprocess


class ServiceMetrics:
    """The metrics of one service process (one per app: in multiprocess mode two apps in one
    process would write the same values)."""

    def __init__(self, routing: Experiment):
        self.routing = routing
        # The link each arm's chain asks first: an answer from another one is a fallback.
        self.first_links = {
            arm: chain.links[0].name for arm, chain in (routing.chains or {}).items()
        }
        self.own = CollectorRegistry()
        reg = self.own
        self.requests = Counter(
            "botify_requests",
            "HTTP requests answered, by endpoint, routing experiment and arm (empty when no "
            "user was routed) and status code",
            ["endpoint", "experiment", "arm", "status"],
            registry=reg,
        )
        self.duration = Histogram(
            "botify_request_duration_seconds",
            "Wall time of a request in the service (from Flask's first hook to its last)",
            ["endpoint", "experiment", "arm"],
            buckets=SECONDS_BUCKETS,
            registry=reg,
        )
        self.work = Histogram(
            "botify_request_work_seconds",
            "Work time of an answered /next or /last: its event's work_time (the wall time less "
            "what the worker did meanwhile for other requests)",
            ["endpoint", "experiment", "arm"],
            buckets=SECONDS_BUCKETS,
            registry=reg,
        )
        self.answers = Counter(
            "botify_answers",
            "/next answers by the chain link that gave them",
            ["experiment", "arm", "link"],
            registry=reg,
        )
        self.fallbacks = Counter(
            "botify_fallbacks",
            "/next answers not given by the arm's first link (it skipped, had nothing, or failed)",
            ["experiment", "arm"],
            registry=reg,
        )
        self.link_failures = Counter(
            "botify_link_failures",
            "Chain links that raised or answered no catalog track (the next link answered)",
            ["experiment", "arm", "link"],
            registry=reg,
        )
        self.events_written = Counter(
            "botify_events_written", "Events written to the event log", registry=reg
        )
        self.events_lost = Counter(
            "botify_events_lost",
            "Events not in the log: write_failed (given up after retries), rotated (in the "
            "oldest backup deleted at a rotation); each is in lost_events.ndjson",
            ["reason"],
            registry=reg,
        )
        self.events_pending = Gauge(
            "botify_events_pending",
            "Events waiting for a write to the event log (a failing log)",
            registry=reg,
            multiprocess_mode="livesum",
        )
        self.data_version = Gauge(
            "botify_data_version",
            "The data version a worker serves (the number of botify load's version)",
            registry=reg,
            multiprocess_mode="liveall",
        )
        self.redis_errors = Counter(
            "botify_redis_errors",
            "Redis failures: requests answered 503 unavailable or 500 unexpected data, writes "
            "sent without waiting that Redis refused, cluster nodes that failed or were not "
            "asked (failed fast)",
            ["kind"],
            registry=reg,
        )
        self.redis_cluster_events = Counter(
            "botify_redis_cluster_events",
            "Redis Cluster: commands redirected, slot map refreshes, reads served while the "
            "version key's node was down",
            ["event"],
            registry=reg,
        )
        self.redis_exchanges = Counter(
            "botify_redis_exchanges",
            "Exchanges with Redis that carried the gathered round trips of requests (gevent)",
            registry=reg,
        )
        self.redis_round_trips = Counter(
            "botify_redis_round_trips",
            "Requests' round trips sent in gathered exchanges (gevent)",
            registry=reg,
        )
        self.overload_shed = Counter(
            "botify_overload_shed",
            "Requests answered 503 overloaded at once, the worker too far behind",
            registry=reg,
        )
        self.overload_late_on_redis = Counter(
            "botify_overload_late_on_redis",
            "Redis failures answered 503 overloaded: the worker read the reply too late",
            registry=reg,
        )
        self.overload_lag = Gauge(
            "botify_overload_lag_seconds",
            "How far behind a worker is (how late a 0.1 s sleep wakes)",
            registry=reg,
            multiprocess_mode="liveall",
        )
        self._children: dict[tuple, Any] = {}
        # Series present from the start, so rate() and increase() see them go up from 0.
        self.events_written.inc(0)
        for reason in LOST_REASONS:
            self.events_lost.labels(reason).inc(0)
        for kind in REDIS_ERROR_KINDS:
            self.redis_errors.labels(kind).inc(0)
        for arm in routing.arms:
            self.fallbacks.labels(routing.name, arm).inc(0)
        if multiprocess_mode():
            self.exposed = CollectorRegistry()
            MultiProcessCollector(self.exposed)
        else:
            self.exposed = self.own

    def child(self, metric: Any, *labels: str) -> Any:
        """`metric.labels(*labels)`, kept: the library's lookup costs more than the count."""
        key = (metric, labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    # -- the request path ----------------------------------------------------------------

    def request_started(self) -> None:
        request.environ[STARTED] = time.perf_counter()

    def routed(self, user: int) -> None:
        """The request's user is routed to an arm of the routing experiment."""
        request.environ[ROUTED] = (self.routing.name, self.routing.arm(user))

    def request_done(self, status: int) -> None:
        current = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup
        environ = current.environ
        rule = current.url_rule
        endpoint = rule.endpoint if rule is not None and rule.endpoint in ENDPOINTS else "other"
        experiment, arm = environ.get(ROUTED, NOT_ROUTED)
        self.child(self.requests, endpoint, experiment, arm, str(status)).inc()
        started = environ.get(STARTED)
        if started is not None:
            seconds = time.perf_counter() - started
            self.child(self.duration, endpoint, experiment, arm).observe(seconds)

    def answered(self, event: dict) -> None:
        """An answered /next or /last, from its event (botify.service calls this)."""
        routing = self.routing
        arm = event["experiments"].get(routing.name) or routing.arm(event["user"])
        message = event["message"]
        self.child(self.work, message, routing.name, arm).observe(event["work_time"])
        if message != "next":
            return
        link = event["recommender"]
        self.child(self.answers, routing.name, arm, link).inc()
        if link != self.first_links.get(arm):
            self.child(self.fallbacks, routing.name, arm).inc()

    def redis_error(self, kind: str) -> None:
        self.child(self.redis_errors, kind).inc()

    # -- the page ------------------------------------------------------------------------

    def page(self, accept: str | None) -> tuple[bytes, str]:
        """The exposition (Prometheus' text format, or OpenMetrics when `accept` asks for it)
        and its content type."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.exposed), content_type
