"""A stand-in for botify that speaks the course's protocol with scripted misbehaviour, for the
remote agent's error paths (a real botify never answers garbage on purpose). Runs in a thread
of the test process, on its own event loop."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from dataclasses import dataclass, field

PATH = re.compile(rb"^POST /(next|last)/(\d+) HTTP/1\.1$")


@dataclass
class Behaviour:
    n_tracks: int
    # what /next answers: "ok", "500", "garbage", "outside", "not-http", "close" (drop the
    # connection), "close-once" (drop it for one request only), "die" (stop listening and drop
    # every connection: the service is gone), "503" (unavailable), "503-once" (for one request)
    mode: str = "ok"
    # answer normally until this many /next requests, then switch to `mode`
    after: int = 0
    requests: list[tuple[str, int, dict]] = field(default_factory=list)
    nexts: int = 0


class StubService:
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.loop = asyncio.new_event_loop()
        self.server: asyncio.base_events.Server | None = None
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.port = 0
        self.writers: set[asyncio.StreamWriter] = set()

    def __enter__(self) -> StubService:
        self.thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self.loop)
        future.result(timeout=10)
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def shutdown() -> None:
            assert self.server is not None
            self.server.close()
            for writer in list(self.writers):
                writer.close()

        if self.thread.is_alive():
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(timeout=10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        b = self.behaviour
        self.writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                match = PATH.match(lines[0])
                length = 0
                for line in lines[1:]:
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = json.loads(await reader.readexactly(length)) if length else {}
                kind, user = match.group(1).decode(), int(match.group(2))
                b.requests.append((kind, user, body))
                b.nexts += kind == "next"
                mode = b.mode if kind == "next" and b.nexts > b.after else "ok"
                if mode == "die":
                    assert self.server is not None
                    self.server.close()
                    for other in list(self.writers):
                        other.close()
                    return
                if mode == "close" or (mode == "close-once" and b.nexts == b.after + 1):
                    writer.close()
                    return
                if mode == "not-http":
                    writer.write(b"hello there\r\n\r\n")
                    await writer.drain()
                    continue
                status, answer = 200, {"user": user}
                if kind == "next":
                    # a function of (user, track) alone, so sessions are reproducible
                    answer["track"] = (user * 7919 + body["track"] * 31) % b.n_tracks
                if mode == "500":
                    status, answer = 500, {"message": "boom"}
                elif mode == "503" or (mode == "503-once" and b.nexts == b.after + 1):
                    status, answer = 503, {"message": "redis is down"}
                elif mode == "outside":
                    answer["track"] = b.n_tracks + 5
                payload = b"{not json" if mode == "garbage" else json.dumps(answer).encode()
                writer.write(
                    b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                    % (status, len(payload))
                    + payload
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.writers.discard(writer)
            writer.close()
