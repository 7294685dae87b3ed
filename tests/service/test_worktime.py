"""The work clock: a request's work time leaves out the other requests' work done while it
waited (driven here by hand, with a clock that moves only when told)."""

from __future__ import annotations

import subprocess
import sys

from botify import worktime
from botify.worktime import WorkClock


class Greenlet:
    """Stands for a greenlet: the clock keeps its run time as an attribute."""


def test_a_request_is_not_charged_for_the_others_work(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(worktime, "wall_seconds", lambda: now[0])
    hub, a, b = Greenlet(), Greenlet(), Greenlet()
    clock = WorkClock(hub)
    running = [hub]
    clock.current = lambda: running[0]

    def switch(to, at):
        now[0] = at
        clock.trace("switch", (running[0], to))
        running[0] = to

    switch(a, 1.0)  # request A starts
    started = clock.seconds()
    switch(hub, 2.0)  # A waits for Redis after 1 s of work
    switch(b, 2.5)  # B works 4 s while A's answer from Redis is waiting
    switch(hub, 6.5)
    switch(a, 6.6)
    now[0] = 7.6  # A works 1 s more
    assert clock.seconds() - started == 7.6 - 1.0 - 4.0  # its work and its waits, not B's
    switch(hub, 7.6)
    switch(b, 8.0)
    assert clock.seconds() > 0  # B's own reading counts its own runs


def test_the_clock_is_the_wall_clock_unless_gevent_has_patched_the_process():
    assert worktime.work_clock() is worktime.wall_seconds
    patched = subprocess.run(
        [
            sys.executable,
            "-c",
            "from gevent import monkey; monkey.patch_all()\n"
            "from botify import worktime\n"
            "clock = worktime.work_clock()\n"
            "assert clock is not worktime.wall_seconds and clock.__self__.hub is not None\n",
        ],
        capture_output=True,
        text=True,
    )
    assert patched.returncode == 0, patched.stderr
