"""A small HTTP/1.1 load generator for the API benchmark: asyncio on raw sockets, keep-alive.

One process, one thread, no HTTP library: per request it writes prepared bytes and reads the
status line, the headers and ``Content-Length`` bytes of body. A client this light leaves the two
cores of the benchmark machine to the server and PostgreSQL (a thread per client with httpx spent
more CPU than the server it measured); what it still costs shows in the ``/health`` baseline,
measured with the same clients in the same run.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()


def post_json(path: str, body: Any, headers: dict[str, str]) -> bytes:
    data = json.dumps(body).encode()
    lines = [f"POST {path} HTTP/1.1", "Host: bench", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


@dataclass(frozen=True)
class Load:
    latencies_ms: list[float]
    seconds: float

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds


class BadResponseError(RuntimeError):
    pass


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> float:
    started = time.perf_counter()
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length)
    elapsed = (time.perf_counter() - started) * 1000
    status = int(head[9:12])
    if status not in (200, 201):
        first = head.split(b"\r\n", 1)[0].decode()
        raise BadResponseError(f"{first}: {body[:200].decode(errors='replace')}")
    return elapsed


async def _client(host: str, port: int, requests: Sequence[bytes], into: list[float]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for request in requests:
            into.append(await _exchange(reader, writer, request))
    finally:
        writer.close()


async def _run(host: str, port: int, per_client: Sequence[Sequence[bytes]]) -> Load:
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(_client(host, port, r, latencies) for r in per_client))
    return Load(latencies, time.perf_counter() - started)


def run(host: str, port: int, per_client: Sequence[Sequence[bytes]]) -> Load:
    """Each client (one keep-alive connection) sends its requests one after another; all
    clients at once. Every response must be 200 or 201."""
    return asyncio.run(_run(host, port, per_client))
