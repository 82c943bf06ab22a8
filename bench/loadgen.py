"""A lean HTTP/1.1 load generator for the benchmarks: keep-alive connections on asyncio streams.

No third-party client: httpx costs the shared CPUs about as much per request as
a cached page costs the server, so on this 2-core machine it capped what the
server could be seen to do. Enough protocol for JSON APIs and pages
(Content-Length bodies; no chunked encoding). Loopback only.
"""

import asyncio
import json
import time
from collections import Counter
from typing import Protocol
from urllib.parse import urlsplit


class Phase(Protocol):
    """What run_phase records into (each benchmark's own Phase class)."""

    latencies: list[float]  # seconds, one per answered request
    statuses: Counter  # HTTP status -> count
    errors: Counter  # exception name -> count (resets, timeouts)
    seconds: float  # how long the phase took


class Connection:
    """One keep-alive HTTP/1.1 connection; enough protocol for JSON APIs (Content-Length)."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def request(self, method: str, path: str, headers: dict, body: bytes = b"") -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        if body or method == "POST":
            head.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed by server")
        status = int(status_line.split()[1])
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        if length:
            await self.reader.readexactly(length)
        if close:
            await self.close()
        return status

    async def close(self):
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


async def run_phase(
    phase: Phase,
    url: str,
    requests: list[tuple],
    concurrency: int,
    max_seconds: float,
    timeout: float = 30,
) -> Phase:
    """Send `requests` [(method, path, headers, body)] with `concurrency` clients."""
    parts = urlsplit(url)
    queue: asyncio.Queue = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    deadline = time.monotonic() + max_seconds

    async def client():
        connection = Connection(parts.hostname, parts.port or 80)
        try:
            while time.monotonic() < deadline:
                try:
                    method, path, headers, body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                started = time.perf_counter()
                try:
                    status = await asyncio.wait_for(
                        connection.request(method, path, headers, body), timeout=timeout
                    )
                except (TimeoutError, OSError, ValueError) as exc:
                    phase.errors[type(exc).__name__] += 1
                    await connection.close()
                    continue
                phase.latencies.append(time.perf_counter() - started)
                phase.statuses[status] += 1
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    phase.seconds = time.perf_counter() - started
    return phase


def json_request(method: str, path: str, headers: dict, payload) -> tuple:
    """A (method, path, headers, body) request carrying `payload` as JSON."""
    body = json.dumps(payload).encode()
    return method, path, {**headers, "Content-Type": "application/json"}, body
