"""A response leaves a botify worker in one send: headers and body together."""

from __future__ import annotations

import socket

from gunicorn.config import Config
from gunicorn.http import wsgi
from gunicorn.http.parser import RequestParser

from botify import onesend


class CountingSocket:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sends: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.sends.append(bytes(data))
        self.sock.sendall(data)

    def __getattr__(self, name):
        return getattr(self.sock, name)


def respond(body: bytes, headers: list[tuple[str, str]]) -> list[bytes]:
    """What gunicorn's worker does with one request, as its base_async worker does it."""
    server, client = socket.socketpair()
    with server, client:
        client.sendall(b"POST /next/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        cfg = Config()
        request = next(iter(RequestParser(cfg, server, ("127.0.0.1", 1))))
        counting = CountingSocket(server)
        response, _ = wsgi.create(request, counting, ("127.0.0.1", 1), "127.0.0.1:5001", cfg)
        response.start_response("200 OK", headers)
        response.write(body)
        response.close()
        return counting.sends


def test_headers_and_body_go_out_in_one_send(monkeypatch):
    monkeypatch.setattr(wsgi, "Response", wsgi.Response)  # undone after the test
    body = b'{"user": 1, "track": 2}'
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    assert len(respond(body, headers)) == 2  # gunicorn as it comes: headers, then body
    onesend.install()
    sends = respond(body, headers)
    assert len(sends) == 1
    head, _, sent_body = sends[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"Content-Length: 23" in head
    assert sent_body == body


def test_a_body_of_unknown_length_is_sent_as_gunicorn_sends_it(monkeypatch):
    monkeypatch.setattr(wsgi, "Response", wsgi.Response)
    onesend.install()
    sends = respond(b"part", [("Content-Type", "text/plain")])
    assert b"Transfer-Encoding: chunked" in sends[0] and b"".join(sends).endswith(b"0\r\n\r\n")
