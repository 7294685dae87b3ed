"""A response in one send. gunicorn writes a response's headers and its body with two sends (two
system calls, and two packets for the client to wake up for); in botify's workers its Response
gathers them into one when the body comes in one piece of known length, as botify's bodies do.
Anything else (a streamed or chunked body) goes out as gunicorn sends it.
"""

from __future__ import annotations

from gunicorn.http import wsgi


class _Gathered:
    """Stands for the client's socket while one write is put together."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.parts.append(data)


class OneSendResponse(wsgi.Response):
    def write(self, arg):
        if self.headers_sent or self.chunked:
            return super().write(arg)
        sock, gathered = self.sock, _Gathered()
        self.sock = gathered
        try:
            super().write(arg)  # the headers, then what the body may send
        finally:
            self.sock = sock
        sock.sendall(b"".join(gathered.parts))


def install() -> None:
    """In a gunicorn worker: its responses are this module's (gunicorn's wsgi.create makes the
    module's Response)."""
    wsgi.Response = OneSendResponse
