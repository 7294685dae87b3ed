"""What gunicorn's HTTP parser rejects is JSON like botify's own errors, and a client trickling
its request head is cut off: raw sockets against the real service (botify serve, gunicorn)."""

import json
import socket
import time

import pytest
import requests

from tests.conftest import small_dataset, write_config

HEADER_TIMEOUT = 1.5


@pytest.fixture
def service(tmp_path, redis_url, start_service, load_data, request):
    config_path = write_config(
        tmp_path,
        redis_url=redis_url,
        data=small_dataset(tmp_path / "data"),
        log_dir=str(tmp_path / "log"),
        header_timeout_seconds=HEADER_TIMEOUT,
        experiments=[{"name": "EXP", "arms": {"C": ["top_pop"]}}],
    )
    load_data(config_path)
    return start_service(config_path, worker_class=getattr(request, "param", None))


def exchange(url: str, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the answer until the server closes: (status, headers, body)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


WORKER_CLASSES = ["gevent", "gthread", "sync"]


PARSER_ERRORS = [
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "Request Line is too large"),
    (b"NOT A REQUEST LINE\r\n\r\n", 400, "Invalid Request Line"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431, "headers"),
    (
        b"GET / HTTP/1.1\r\nHost: x\r\n"
        + b"".join(b"X-%d: 1\r\n" % i for i in range(200))
        + b"\r\n",
        431,
        "headers",
    ),
]


@pytest.mark.parametrize("service", WORKER_CLASSES, indirect=True)
def test_parser_errors_are_json_naming_the_problem(service):
    for data, status, named in PARSER_ERRORS:
        code, headers, body = exchange(service.url, data)
        assert code == status, data[:40]
        assert headers["content-type"] == "application/json"
        assert int(headers["content-length"]) == len(body)
        message = json.loads(body)["message"]
        assert named in message
        assert "<" not in message
    # botify's own errors have the same shape
    code, headers, body = exchange(
        service.url, b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert code == 404 and headers["content-type"] == "application/json"


# sync serves one connection at a time per worker: a trickling client there blocks a worker for
# the header timeout, so it is not run beside normal requests.
@pytest.mark.parametrize("service", ["gevent", "gthread"], indirect=True)
def test_a_trickled_request_head_is_cut_off_while_others_are_served(service):
    host, port = service.url.removeprefix("http://").split(":")
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 1000 + b"\r\n\r\n"
    slow = []
    for _ in range(3):
        sock = socket.create_connection((host, int(port)), timeout=10)
        slow.append(sock)
    started = time.monotonic()
    closed_after: dict[int, float] = {}
    answers = b""
    sent = 0
    normal = 0
    with requests.Session() as session:
        while len(closed_after) < len(slow) and time.monotonic() - started < HEADER_TIMEOUT + 3:
            for number, sock in enumerate(slow):
                if number in closed_after:
                    continue
                try:
                    sock.sendall(head[sent : sent + 1])
                except OSError:  # reset: closed by the server
                    closed_after[number] = time.monotonic() - started
                    continue
                sock.setblocking(False)
                try:
                    got = sock.recv(65536)
                except BlockingIOError:
                    got = None
                except OSError:
                    got = b""
                sock.setblocking(True)
                if got is not None:
                    answers += got
                    closed_after[number] = time.monotonic() - started
            sent += 1
            assert session.get(service.url + "/healthz", timeout=10).status_code == 200
            normal += 1
            time.sleep(0.25)
    for sock in slow:
        sock.close()
    assert len(closed_after) == len(slow), "a connection trickling its head stayed open"
    assert max(closed_after.values()) < HEADER_TIMEOUT + 2.0
    assert min(closed_after.values()) >= HEADER_TIMEOUT - 0.3
    assert b"408 Request Timeout" in answers and b"header_timeout_seconds" in answers
    assert normal > 0
    # and the service still answers on fresh connections
    assert requests.get(service.url + "/healthz", timeout=10).status_code == 200


def test_connections_take_turns_in_a_gevent_worker(served):
    """A connection with many requests already sent (pipelined) must not keep its worker to
    itself: a second connection's one request is answered while the first still has most of its
    answers to come. Counted in answers, not time: without the turn-taking the first connection's
    greenlet, whose next request is always already there, answers all of them first."""
    service, _ = served(
        workers=1, worker_class="gevent", experiments=[{"name": "EXP", "arms": {"C": ["top_pop"]}}]
    )
    host, port = service.url.removeprefix("http://").split(":")
    many = 1000
    with (
        socket.create_connection((host, int(port)), timeout=30) as busy,
        socket.create_connection((host, int(port)), timeout=30) as other,
    ):
        assert b"200 OK" in exchange_on(other, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        busy.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * many)
        while not busy.recv(1, socket.MSG_PEEK):  # the busy connection's worker is at it
            pass
        assert b"200 OK" in exchange_on(other, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        # What had reached the busy connection by then (the answers sent before the other's).
        busy.setblocking(False)
        before = b""
        try:
            while chunk := busy.recv(1 << 20):
                before += chunk
        except BlockingIOError:
            pass
    assert 0 < before.count(b"HTTP/1.1 200") < many // 2


def exchange_on(sock: socket.socket, data: bytes) -> bytes:
    """One request on an open connection, and its answer's first bytes."""
    sock.sendall(data)
    return sock.recv(65536)
