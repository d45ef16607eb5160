"""The benchmark's load generator (benchmarks/http_load.py): the constant-rate schedule, and
latencies counted from each request's intended send time, against a real local HTTP server."""

from __future__ import annotations

import itertools
import socketserver
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from benchmarks import http_load
from benchmarks.activity_api import percentile

STALL_S = 0.5
LENGTH = b"content-length"


@dataclass
class Behaviour:
    """What the fake server does with the request it receives *n*-th (1-based, all connections
    together): stall once for STALL_S, or answer 503 once."""

    stall_at: int | None = None
    fail_at: int | None = None
    seen: int = 0
    arrivals: list[tuple[float, int]] = field(default_factory=list)  # (perf_counter, connection)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        b = self.server.behaviour
        while head := self._head():
            lengths = (v for k, _, v in (h.partition(b":") for h in head) if k.lower() == LENGTH)
            self.rfile.read(int(next(lengths, b"0")))
            with b.lock:
                b.seen += 1
                n = b.seen
                b.arrivals.append((time.perf_counter(), id(self)))
            if n == b.stall_at:
                time.sleep(STALL_S)  # the fault under test: this answer comes half a second late
            status = b"503 Service Unavailable" if n == b.fail_at else b"200 OK"
            self.wfile.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 2\r\n\r\nok")

    def _head(self) -> list[bytes]:
        lines = []
        while (line := self.rfile.readline()) not in (b"\r\n", b""):
            lines.append(line.rstrip(b"\r\n"))
        return lines


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, behaviour: Behaviour) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = behaviour


@pytest.fixture
def behaviour() -> Behaviour:
    return Behaviour()


@pytest.fixture
def port(behaviour: Behaviour) -> Iterator[int]:
    server = _Server(behaviour)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


GET = http_load.get("/health")


def test_the_schedule_spaces_every_request_evenly_and_the_connections_take_turns() -> None:
    plans = http_load.schedule(10, rate=100, connections=3)
    assert [len(p) for p in plans] == [4, 3, 3]
    everything = sorted(item for plan in plans for item in plan)
    assert everything == [(i / 100, i) for i in range(10)]  # each request once, 10 ms apart
    for plan in plans:  # each connection offers a third of the rate
        dues = [due for due, _ in plan]
        assert all(b - a == pytest.approx(0.03) for a, b in itertools.pairwise(dues))


def test_an_open_loop_sends_at_the_rate_it_offers_not_faster(
    port: int, behaviour: Behaviour
) -> None:
    load = http_load.run_at_rate("127.0.0.1", port, [GET] * 100, rate=200, connections=4)

    assert len(load.latencies_ms) == 100
    assert load.errors == 0
    assert load.offered == 200
    # the last request is due 99 / 200 s after the start: a closed loop would be done sooner
    assert load.seconds >= 99 / 200
    first, last = behaviour.arrivals[0][0], behaviour.arrivals[-1][0]
    assert last - first >= 99 / 200 - 0.05  # the first may go out up to 50 ms late
    per_connection: dict[int, int] = {}
    for _, conn in behaviour.arrivals:
        per_connection[conn] = per_connection.get(conn, 0) + 1
    assert sorted(per_connection.values()) == [25, 25, 25, 25]


def test_a_stall_shows_in_the_open_loops_p99_not_in_the_closed_loops(
    port: int, behaviour: Behaviour
) -> None:
    # Closed loop: the 4 connections each wait for their answer, so the stalled connection sends
    # nothing while it waits: one slow sample in 400, the p99 does not see it.
    behaviour.stall_at = 100
    closed = http_load.run("127.0.0.1", port, [[GET] * 100] * 4)
    assert max(closed.latencies_ms) >= STALL_S * 1000
    assert percentile(closed.latencies_ms, 0.99) < STALL_S * 1000 / 2

    # Open loop at 400/s: the requests due on that connection while it stalled (one every
    # 10 ms) each waited from their intended send time: about 50 samples of 0-500 ms.
    behaviour.seen, behaviour.stall_at = 0, 100
    opened = http_load.run_at_rate("127.0.0.1", port, [GET] * 400, rate=400, connections=4)
    assert len(opened.latencies_ms) == 400
    assert max(opened.latencies_ms) >= STALL_S * 1000
    assert percentile(opened.latencies_ms, 0.99) >= STALL_S * 1000 / 2
    assert sum(ms >= 100 for ms in opened.latencies_ms) >= 20


def test_an_open_loop_counts_errors_instead_of_stopping(port: int, behaviour: Behaviour) -> None:
    behaviour.fail_at = 7
    load = http_load.run_at_rate("127.0.0.1", port, [GET] * 20, rate=500, connections=2)

    assert load.errors == 1
    assert load.first_error is not None
    assert load.first_error.startswith("HTTP/1.1 503")
    assert len(load.latencies_ms) == 19  # only successful answers have a latency
    assert load.rate == 19 / load.seconds


def test_a_closed_loop_stops_at_the_first_error(port: int, behaviour: Behaviour) -> None:
    behaviour.fail_at = 3
    with pytest.raises(http_load.BadResponseError, match="503"):
        http_load.run("127.0.0.1", port, [[GET] * 5])


def test_an_open_loop_needs_a_positive_rate_and_connections(port: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        http_load.run_at_rate("127.0.0.1", port, [GET], rate=0, connections=1)
    with pytest.raises(ValueError, match="positive"):
        http_load.run_at_rate("127.0.0.1", port, [GET], rate=10, connections=0)


def test_arrivals_stop_when_told_and_keep_each_requests_intended_time(
    port: int, behaviour: Behaviour
) -> None:
    started = time.perf_counter()
    timeline = http_load.run_arrivals_until(
        "127.0.0.1",
        port,
        itertools.repeat(GET),
        rate=100,
        connections=2,
        until=lambda: time.perf_counter() - started >= 0.3,
    )

    assert 20 <= len(timeline.latencies_ms) <= 32  # about 0.3 s at 100/s, not as fast as it goes
    assert len(timeline.intended) == len(timeline.latencies_ms) == len(behaviour.arrivals)
    gaps = [b - a for a, b in itertools.pairwise(sorted(timeline.intended))]
    assert all(g == pytest.approx(0.01) for g in gaps)  # evenly spaced, 10 ms apart
    assert timeline.errors == 0


def test_a_stalled_arrival_holds_up_no_other_and_shows_its_whole_wait(
    port: int, behaviour: Behaviour
) -> None:
    behaviour.stall_at = 5
    timeline = http_load.run_arrivals_until(
        "127.0.0.1", port, iter([GET] * 60), rate=100, connections=2, until=lambda: False
    )

    assert len(timeline.latencies_ms) == 60  # stopped when the requests ran out
    assert max(timeline.latencies_ms) >= STALL_S * 1000  # the stalled one, from its due time
    # the others went out on other connections, opened while the stalled one waited
    assert sum(ms >= 100 for ms in timeline.latencies_ms) == 1
    assert timeline.peak_connections >= 2


def test_arrivals_count_errors_instead_of_stopping(port: int, behaviour: Behaviour) -> None:
    behaviour.fail_at = 3
    timeline = http_load.run_arrivals_until(
        "127.0.0.1", port, iter([GET] * 10), rate=200, connections=1, until=lambda: False
    )
    assert timeline.errors == 1 and len(timeline.latencies_ms) == 9
    assert timeline.first_error is not None and timeline.first_error.startswith("HTTP/1.1 503")


def test_arrivals_do_not_reuse_a_connection_the_server_may_have_closed_for_idling(
    port: int, behaviour: Behaviour, monkeypatch: pytest.MonkeyPatch
) -> None:
    # uvicorn closes a keep-alive connection idle for 5 s; a request sent on it as it closes
    # fails. Here "too long idle" is 50 ms, and the requests come every 100 ms.
    monkeypatch.setattr(http_load, "IDLE_S", 0.05)
    timeline = http_load.run_arrivals_until(
        "127.0.0.1", port, iter([GET] * 4), rate=10, connections=1, until=lambda: False
    )
    assert len(timeline.latencies_ms) == 4
    assert len({conn for _, conn in behaviour.arrivals}) == 4  # a fresh connection each time


def test_a_timeline_keeps_the_latencies_of_the_requests_due_in_a_window() -> None:
    timeline = http_load.Timeline([1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0], [1, 2, 3, 4])
    during = timeline.between(2.0, 3.5)
    assert (during.intended, during.latencies_ms, during.service_ms) == ([2, 3], [20, 30], [2, 3])
    assert timeline.between(5.0, 6.0).latencies_ms == []
