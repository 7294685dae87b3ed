"""How long the service worked on a request: the `work_time` of its event (its `latency` is the
request's wall time, as the course logs it).

Under gevent (botify serve's default) a worker runs many requests on one thread and switches
between them while each waits for Redis, so a request's wall time counts the work the worker did
meanwhile for the others: under load it measures the queue, not the request. `WorkClock` keeps,
from a trace of greenlet switches, the time each greenlet has run and the time all of them have
run; its reading in a greenlet is the wall clock less what the other greenlets ran. The
difference of two readings in one request (its work time) is then its own work, its waits on Redis
while the worker had nothing else to run, and the event loop's own time, without the other
requests' work. Without gevent (threads, the in-process runs) the clock is the wall clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

wall_seconds: Callable[[], float] = time.perf_counter


class WorkClock:
    """Installed once per process, on the thread that runs the gevent hub."""

    def __init__(self, hub: Any) -> None:
        from greenlet import getcurrent

        self.hub = hub
        self.current = getcurrent
        self.ran = 0.0  # seconds every greenlet but the hub has run, in switches traced so far
        self.since = wall_seconds()  # the last switch

    def trace(self, event: str, args: tuple) -> None:
        if event not in ("switch", "throw"):
            return
        origin = args[0]
        now = wall_seconds()
        if origin is not self.hub:
            ran = now - self.since
            self.ran += ran
            origin.botify_ran = getattr(origin, "botify_ran", 0.0) + ran
        self.since = now

    def seconds(self) -> float:
        """In the running greenlet: the wall clock less what the other greenlets have run."""
        return wall_seconds() - self.ran + getattr(self.current(), "botify_ran", 0.0)


def work_clock() -> Callable[[], float]:
    """The clock of this process's request latencies: a WorkClock when gevent has patched it
    (a gunicorn gevent worker), else the wall clock."""
    try:
        import gevent
        import greenlet
        from gevent import monkey
    except ImportError:
        return wall_seconds
    if not monkey.is_module_patched("socket"):
        return wall_seconds
    clock = WorkClock(gevent.get_hub())
    greenlet.settrace(clock.trace)
    return clock.seconds
