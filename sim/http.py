"""A minimal HTTP/1.1 client on asyncio streams: one keep-alive connection, JSON POSTs.

Why not requests or http.client: the simulator shares the machine with the service it is
meant to saturate, so the client must cost little CPU per request. A request here is a few
microseconds of Python; requests' is a few hundred (see bench/sim_remote.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit


class ConnectionProblem(Exception):
    """The exchange failed below HTTP (refused, reset, closed, timed out): worth a retry."""


class GarbledAnswer(Exception):
    """The server answered something that is not HTTP/1.x."""


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    prefix: str  # a path the service is mounted under, without the trailing slash

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"not an http:// URL: {url!r}")
        return cls(parts.hostname, parts.port or 80, parts.path.rstrip("/"))


class Connection:
    def __init__(self, endpoint: Endpoint, timeout: float) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._host_header = f"Host: {endpoint.host}:{endpoint.port}\r\n".encode()
        self.reused = False  # the last exchange went over an already open connection

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """(status, body). Raises ConnectionProblem or GarbledAnswer."""
        try:
            async with asyncio.timeout(self.timeout):
                return await self._exchange(path, body)
        except (OSError, EOFError, asyncio.IncompleteReadError, TimeoutError) as error:
            await self.close()
            raise ConnectionProblem(_describe(error)) from error
        except (GarbledAnswer, asyncio.LimitOverrunError, ValueError) as error:
            await self.close()
            raise GarbledAnswer(str(error) or type(error).__name__) from error

    async def _exchange(self, path: str, body: bytes) -> tuple[int, bytes]:
        self.reused = self._writer is not None
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(
                self.endpoint.host, self.endpoint.port
            )
        reader, writer = self._reader, self._writer
        assert reader is not None
        writer.write(
            b"POST "
            + (self.endpoint.prefix + path).encode()
            + b" HTTP/1.1\r\n"
            + self._host_header
            + b"Content-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, _, header_block = head.partition(b"\r\n")
        version, _, rest = status_line.partition(b" ")
        if not version.startswith(b"HTTP/1."):
            raise GarbledAnswer(f"not an HTTP answer: {status_line[:60]!r}")
        status = int(rest[:3])
        length, chunked, close = None, False, version == b"HTTP/1.0"
        for line in header_block.split(b"\r\n"):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                token = value.strip().lower()
                close = token == b"close" or (close and token != b"keep-alive")
        if chunked:
            payload = await _read_chunked(reader)
        elif length is not None:
            payload = await reader.readexactly(length)
        else:  # the body runs to the end of the connection
            payload, close = await reader.read(), True
        if close:
            await self.close()
        return status, payload


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers expected
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, asyncio.IncompleteReadError | EOFError):
        return "connection closed by the service"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error) or type(error).__name__
