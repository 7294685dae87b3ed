"""gunicorn's worker classes for `botify serve` (gevent, gthread, sync), with two additions.

Every error is JSON. gunicorn answers what its HTTP parser rejects (400 a bad request line or
header, 414 a request line over limit_request_line, 431 headers over limit_request_fields /
limit_request_field_size, 500 an application crash outside Flask) itself, before botify sees the
request, with an HTML page. gunicorn has no hook for that page: its one writer,
`gunicorn.util.write_error`, is replaced in each worker process by `write_json_error`, so those
answers carry `{"message": ...}` like botify's own errors; gunicorn still picks the status.

A request head must arrive in time. gunicorn bounds the wait for a request by `keepalive` (75 s)
and no more: a client trickling its request line and headers a byte at a time holds the
connection (and, in gthread and sync, a thread or the whole worker) for as long as it likes.
Here the head of a connection's first request must be whole within `header_timeout_seconds`
(config.json) of the connection's start, and a later request's within that time of its first
byte (an idle kept-alive connection still waits up to `keepalive` for it); past that the
connection gets a 408 and is closed. 0 turns the bound off.

Connections take turns (gevent). A gevent socket switches to another greenlet only when a read
or write would block; under load the next request of a kept-alive connection and Redis's replies
are usually there already, so one connection's greenlet could serve request after request while
the worker's other connections wait: measured, single greenlets ran up to 68 ms without a switch,
and the service's p99 was 10 times its median. Each request's greenlet yields once its answer is
sent, so the ready connections are served in turn.
"""

from __future__ import annotations

import time
from typing import Any

import ujson
from gunicorn import util
from gunicorn.workers.ggevent import GeventWorker as _GeventWorker
from gunicorn.workers.gthread import ThreadWorker as _ThreadWorker
from gunicorn.workers.sync import SyncWorker as _SyncWorker

DEFAULT_HEADER_TIMEOUT = 5.0


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's error answer (util.write_error's signature) as botify's: {"message": ...}."""
    message = f"{reason}: {mesg}" if mesg else reason
    if status_int >= 500 and not mesg:
        message = "internal error"
    body = ujson.dumps({"message": message}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1")
    util.write_nonblock(sock, head + body)


class HeadTimeout(Exception):
    """A request head (request line and headers) that did not arrive in time."""

    def __init__(self, seconds: float):
        super().__init__(seconds)
        self.seconds = seconds

    def __str__(self) -> str:
        return (
            f"the request line and headers did not arrive within {self.seconds:g} s "
            "(header_timeout_seconds)"
        )


class HeadDeadlineSocket:
    """A connection's socket whose reads of a request head must end by a deadline; every other
    use goes to the socket itself. The worker marks where a head starts and where it ends."""

    def __init__(self, sock, seconds: float):
        self._sock = sock
        self.seconds = seconds
        self.in_head = False
        self.deadline: float | None = None

    def __getattr__(self, name: str):
        return getattr(self._sock, name)

    def start_head(self, from_now: bool) -> None:
        """A head is read next: due `seconds` from now, or (`from_now` False: an idle kept-alive
        connection) from its first byte."""
        if self.in_head or self.seconds <= 0:
            return
        self.in_head = True
        self.deadline = time.monotonic() + self.seconds if from_now else None

    def end_head(self) -> None:
        self.in_head = False
        self.deadline = None

    def recv(self, size: int, *flags: int) -> bytes:
        if not self.in_head:
            return self._sock.recv(size, *flags)
        if self.deadline is None:  # waiting for the first byte: the worker's keepalive bounds it
            data = self._sock.recv(size, *flags)
            self.deadline = time.monotonic() + self.seconds
            return data
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self.end_head()
            raise HeadTimeout(self.seconds)
        previous = self._sock.gettimeout()
        self._sock.settimeout(remaining)
        try:
            return self._sock.recv(size, *flags)
        except TimeoutError:
            self.end_head()
            raise HeadTimeout(self.seconds) from None
        finally:
            self._sock.settimeout(previous)


class JsonErrors:
    """The additions, for any gunicorn worker class (mixed in before it)."""

    app: Any
    log: Any

    def init_process(self) -> None:
        util.write_error = write_json_error  # no hook for its error page: see above
        super().init_process()  # type: ignore[misc]

    def header_timeout(self) -> float:
        # Set by botify.serve.BotifyApplication.load() from the config the worker serves.
        return float(getattr(self.app, "header_timeout", DEFAULT_HEADER_TIMEOUT))

    def handle_error(self, req, client, addr, exc) -> None:
        if isinstance(client, HeadDeadlineSocket):
            client.end_head()
        if isinstance(exc, HeadTimeout):
            self.log.warning("Slow request from ip=%s: %s", (addr or ("",))[0], exc)
            try:
                write_json_error(client, 408, "Request Timeout", str(exc))
            except Exception:
                self.log.debug("Failed to send error message.")
        else:
            super().handle_error(req, client, addr, exc)  # type: ignore[misc]
        # Closed with the rest of the request unread, the socket would send a reset, which can
        # throw away the answer before the client reads it: half-close and drain a little first.
        util.close_graceful(client)


class GeventWorker(JsonErrors, _GeventWorker):
    def init_process(self) -> None:
        self._heads: dict = {}  # greenlet -> its connection's HeadDeadlineSocket
        super().init_process()

    def handle(self, listener, client, addr) -> None:
        import gevent

        head = HeadDeadlineSocket(client, self.header_timeout())
        head.start_head(from_now=True)
        current = gevent.getcurrent()
        self._heads[current] = head
        try:
            super().handle(listener, head, addr)
        finally:
            self._heads.pop(current, None)

    def timeout_ctx(self):
        # gunicorn's keep-alive loop reads each request's head inside this context.
        import gevent

        head = self._heads.get(gevent.getcurrent())
        if head is not None:
            head.start_head(from_now=False)
        return super().timeout_ctx()

    def handle_request(self, listener_name, req, sock, addr):
        import gevent

        if isinstance(sock, HeadDeadlineSocket):
            sock.end_head()
        try:
            return super().handle_request(listener_name, req, sock, addr)
        finally:
            # Take turns: see the module's docstring.
            gevent.sleep(0)


class ThreadWorker(JsonErrors, _ThreadWorker):
    def handle(self, conn):
        # A connection comes here when it is readable (or new): its head is due from now.
        if not isinstance(conn.sock, HeadDeadlineSocket):
            conn.sock = HeadDeadlineSocket(conn.sock, self.header_timeout())
        conn.sock.start_head(from_now=True)
        return super().handle(conn)

    def handle_request(self, req, conn):
        if isinstance(conn.sock, HeadDeadlineSocket):
            conn.sock.end_head()
        return super().handle_request(req, conn)


class SyncWorker(JsonErrors, _SyncWorker):
    def handle(self, listener, client, addr) -> None:
        head = HeadDeadlineSocket(client, self.header_timeout())
        head.start_head(from_now=True)
        super().handle(listener, head, addr)

    def handle_request(self, listener, req, client, addr):
        if isinstance(client, HeadDeadlineSocket):
            client.end_head()
        return super().handle_request(listener, req, client, addr)
