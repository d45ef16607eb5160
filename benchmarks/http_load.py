"""A small HTTP/1.1 load generator for the API benchmark: asyncio on raw sockets, keep-alive.

One process, one thread, no HTTP library: per request it writes prepared bytes and reads the
status line, the headers and ``Content-Length`` bytes of body. A client this light leaves the two
cores of the benchmark machine to the server and PostgreSQL (a thread per client with httpx spent
more CPU than the server it measured); what it still costs shows in the ``/health`` baseline,
measured with the same clients in the same run.

Two ways to drive a server:

- :func:`run`, a **closed loop**: each connection sends its next request when the previous answer
  arrives, as fast as the server goes. It measures throughput at saturation; its latencies are
  the queue's (Little's law: with C connections always waiting, the mean is C / throughput).
- :func:`run_at_rate`, an **open loop** at a constant rate, as wrk2 does it: request *i* is due
  ``i / rate`` seconds after the start, on connection ``i % connections``, and its latency is
  counted from that intended send time, not from when it was sent. When the server stalls, the
  requests due meanwhile on that connection go out late, and each one's wait shows in the tail
  (a closed loop would record one slow answer and quietly send less: coordinated omission).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

#: How long after every connection is open the first request is due, seconds.
LEAD_S = 0.01


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
    """What one phase measured: the latency of every successful (200/201) answer, the seconds
    from the first request to the last answer, and, in the open loop, the rate offered and
    the answers that were not 200/201 (*errors*, the first one's status line in *first_error*)."""

    latencies_ms: list[float]
    seconds: float
    offered: float | None = None
    errors: int = 0
    first_error: str | None = None

    @property
    def rate(self) -> float:
        """Successful answers per second: the achieved rate."""
        return len(self.latencies_ms) / self.seconds


class BadResponseError(RuntimeError):
    pass


@dataclass(frozen=True)
class _Answer:
    status: int
    head: bytes
    body: bytes
    at: float  # perf_counter() when the body was read

    @property
    def ok(self) -> bool:
        return self.status in (200, 201)

    def error(self) -> str:
        first = self.head.split(b"\r\n", 1)[0].decode()
        return f"{first}: {self.body[:200].decode(errors='replace')}"


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> _Answer:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length)
    return _Answer(int(head[9:12]), head, body, time.perf_counter())


async def _client(host: str, port: int, requests: Sequence[bytes], into: list[float]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for request in requests:
            started = time.perf_counter()
            answer = await _exchange(reader, writer, request)
            if not answer.ok:
                raise BadResponseError(answer.error())
            into.append((answer.at - started) * 1000)
    finally:
        writer.close()


async def _run(host: str, port: int, per_client: Sequence[Sequence[bytes]]) -> Load:
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(_client(host, port, r, latencies) for r in per_client))
    return Load(latencies, time.perf_counter() - started)


def run(host: str, port: int, per_client: Sequence[Sequence[bytes]]) -> Load:
    """Closed loop: each client (one keep-alive connection) sends its requests one after
    another, each when the previous answer has arrived; all clients at once. Every response
    must be 200 or 201 (else :class:`BadResponseError`)."""
    return asyncio.run(_run(host, port, per_client))


def schedule(count: int, rate: float, connections: int) -> list[list[tuple[float, int]]]:
    """Per connection, ``(due, i)`` for each request *i* it sends: request *i* is due
    ``i / rate`` seconds after the start, on connection ``i % connections``. The connections
    take turns, so together they offer *rate* evenly spaced, each ``rate / connections``."""
    return [[(i / rate, i) for i in range(c, count, connections)] for c in range(connections)]


@dataclass
class _Tally:
    latencies_ms: list[float]
    last_answer: float
    errors: int = 0
    first_error: str | None = None


async def _paced(
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    requests: Sequence[bytes],
    plan: list[tuple[float, int]],
    start: float,
    tally: _Tally,
) -> None:
    reader, writer = conn
    for due, i in plan:
        intended = start + due
        delay = intended - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        # Late (the previous answer on this connection came after this one was due): send now.
        answer = await _exchange(reader, writer, requests[i])
        tally.last_answer = max(tally.last_answer, answer.at)
        if answer.ok:
            tally.latencies_ms.append((answer.at - intended) * 1000)
        else:
            tally.errors += 1
            tally.first_error = tally.first_error or answer.error()


async def _run_at_rate(
    host: str, port: int, requests: Sequence[bytes], rate: float, connections: int
) -> Load:
    conns = [await asyncio.open_connection(host, port) for _ in range(connections)]
    try:
        start = time.perf_counter() + LEAD_S  # every connection open before the clock starts
        tally = _Tally([], start)
        plans = schedule(len(requests), rate, connections)
        paced = (_paced(c, requests, p, start, tally) for c, p in zip(conns, plans, strict=True))
        await asyncio.gather(*paced)
    finally:
        for _reader, writer in conns:
            writer.close()
    seconds = max(tally.last_answer - start, 1e-9)
    return Load(tally.latencies_ms, seconds, rate, tally.errors, tally.first_error)


def run_at_rate(
    host: str, port: int, requests: Sequence[bytes], rate: float, connections: int
) -> Load:
    """Open loop: *requests* offered at *rate* per second in total over *connections*
    keep-alive connections (:func:`schedule`), each latency counted from the request's intended
    send time (coordinated omission corrected). Answers other than 200/201 are counted as
    errors; a connection that fails raises."""
    if rate <= 0 or connections <= 0:
        raise ValueError("rate and connections must be positive")
    return asyncio.run(_run_at_rate(host, port, requests, rate, connections))


@dataclass(frozen=True)
class Timeline:
    """Arrivals of unknown number (:func:`run_arrivals_until`): for each successful answer, the
    request's intended send time (``perf_counter()`` seconds), its latency counted from then
    (ms) and its service time counted from when it was actually sent (ms); the answers that were
    not 200/201; and the most connections that were busy at once."""

    intended: list[float]
    latencies_ms: list[float]
    service_ms: list[float]
    errors: int = 0
    first_error: str | None = None
    peak_connections: int = 0

    def between(self, start: float, end: float) -> Timeline:
        """The requests due from *start* to *end* (``perf_counter()`` s); the other counts are
        kept."""
        kept = [
            (at, ms, service)
            for at, ms, service in zip(
                self.intended, self.latencies_ms, self.service_ms, strict=True
            )
            if start <= at <= end
        ]
        return Timeline(
            [k[0] for k in kept],
            [k[1] for k in kept],
            [k[2] for k in kept],
            self.errors,
            self.first_error,
            self.peak_connections,
        )


#: A connection idle this long is closed rather than used again: under uvicorn's keep-alive
#: timeout (5 s), after which the server may close it as a request goes out.
IDLE_S = 3.0

_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass
class _Arrivals:
    host: str
    port: int
    idle: list[tuple[_Conn, float]]  # with when it became idle, the most recent last
    opened: list[asyncio.StreamWriter] = field(default_factory=list)
    busy: int = 0
    peak: int = 0
    intended: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    service_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def send(self, request: bytes, intended: float) -> None:
        """*request* on an idle connection, or a new one when every connection is busy."""
        self.busy += 1
        self.peak = max(self.peak, self.busy)
        while self.idle and time.perf_counter() - self.idle[0][1] > IDLE_S:
            self.idle.pop(0)[0][1].close()
        if self.idle:
            conn = self.idle.pop()[0]
        else:
            conn = await asyncio.open_connection(self.host, self.port)
            self.opened.append(conn[1])
        try:
            sent = time.perf_counter()
            answer = await _exchange(*conn, request)
        finally:
            self.busy -= 1
        self.idle.append((conn, time.perf_counter()))
        if answer.ok:
            self.intended.append(intended)
            self.latencies_ms.append((answer.at - intended) * 1000)
            self.service_ms.append((answer.at - sent) * 1000)
        else:
            self.errors.append(answer.error())


async def _run_arrivals_until(
    host: str,
    port: int,
    requests: Iterator[bytes],
    rate: float,
    connections: int,
    *,
    until: Callable[[], bool],
) -> Timeline:
    idle = [await asyncio.open_connection(host, port) for _ in range(connections)]
    now = time.perf_counter()
    arrivals = _Arrivals(host, port, [(c, now) for c in idle], [w for _r, w in idle])
    tasks = []
    try:
        intended = time.perf_counter() + LEAD_S
        while not until():
            delay = intended - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
                if until():
                    break
            request = next(requests, None)
            if request is None:
                break
            tasks.append(asyncio.create_task(arrivals.send(request, intended)))
            intended += 1 / rate
        await asyncio.gather(*tasks)
    finally:
        for writer in arrivals.opened:
            writer.close()
    errors = arrivals.errors
    return Timeline(
        arrivals.intended,
        arrivals.latencies_ms,
        arrivals.service_ms,
        len(errors),
        errors[0] if errors else None,
        arrivals.peak,
    )


def run_arrivals_until(
    host: str,
    port: int,
    requests: Iterator[bytes],
    rate: float,
    connections: int,
    *,
    until: Callable[[], bool],
) -> Timeline:
    """Open loop of independent arrivals: request *i* is due ``i / rate`` s after the start and
    goes out then on an idle keep-alive connection (*connections* are open at the start; another
    is opened when all are busy), for as long as *until* returns false and *requests* lasts. Its
    latency is counted from its intended send time (coordinated omission corrected), and a
    request that waits holds up no other: as for users who each post on their own, unlike
    :func:`run_at_rate`, where each connection's requests queue behind one another."""
    if rate <= 0 or connections <= 0:
        raise ValueError("rate and connections must be positive")
    return asyncio.run(_run_arrivals_until(host, port, requests, rate, connections, until=until))
