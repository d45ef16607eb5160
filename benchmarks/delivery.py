"""Delivery throughput with DEFAULT settings: ``python -m benchmarks.delivery [--messages 5000]``.

A seeded database's webhook and email deliveries are drained by the same code as ``reminders
worker`` (``build_channels`` + ``delivery_drain`` from settings that name only the receivers)
to receivers in their own process (``benchmarks/receiver.py``: a minimal asyncio HTTP/1.1 server,
aiosmtpd). The baseline, in the same run: each receiver's own ceiling, blasted by a minimal
client (raw asyncio sockets, 8 connections, no rendering, no database). Then a long drain of
many small batches on both channels at once, watching this process's RSS and open file
descriptors and the receivers' connections.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from assignment_reminders.config import Settings
from assignment_reminders.db.database import Connection, connect
from assignment_reminders.db.migrations import migrate
from assignment_reminders.delivery.channels import build_channels
from assignment_reminders.delivery.runner import close_all, delivery_drain
from assignment_reminders.dev.seed import seed
from assignment_reminders.job.reminder_pass import ReminderPass

from . import options
from .scratch import Databases, cli_env, server
from .targets import Target, render

TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
DUE_PER_ASSIGNMENT = 0.45  # roughly what the seed produces: reminders + escalations per assignment
BENCH_WEBHOOK_SECRET = "whsec_YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmVuY2g="  # noqa: S105 - local receivers
BLAST_CONNECTIONS = 8
LONG_DRAIN_BATCH = 20
WEBHOOK_TARGET, EMAIL_TARGET = 1000, 500


@dataclass
class Receiver:
    kind: str
    port: int = 0
    accepted: int = -1
    peak: int = -1  # most connections open at once
    total: int = -1  # connections opened


@contextmanager
def receiver(kind: str) -> Iterator[Receiver]:
    """``benchmarks/receiver.py`` in its own process; its counts are filled in on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.receiver", kind],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdin is not None
    got = Receiver(kind, port=int(proc.stdout.readline().split()[1]))
    try:
        yield got
    finally:
        proc.stdin.close()
        words = proc.stdout.readline().split()
        if words[:1] == ["COUNT"]:
            got.accepted, got.peak, got.total = int(words[1]), int(words[3]), int(words[5])
        proc.wait(timeout=30)


@dataclass(frozen=True)
class DeliveryResult:
    label: str
    messages: int
    seconds: float
    accepted: int
    peak_connections: int

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds if self.seconds else math.inf


@dataclass
class LongDrain:
    batches: int = 0
    messages: int = 0
    seconds: float = 0.0
    rss_mb: list[float] = field(default_factory=list)  # after each batch
    fds: list[int] = field(default_factory=list)
    peak_connections: dict[str, int] = field(default_factory=dict)
    concurrency: int = 0


# --- the receivers' ceilings: a minimal client --------------------------------------------------

_BODY = (
    b'{"id":"reminder-1-webhook","kind":"reminder","assignment_id":42,'
    b'"recipient_user_id":"9b2e3c64-3f4c-4a57-9f39-0c1c6c1b0a11","days_since_contact":12,'
    b'"language":"en","subject":"Time to contact Kari","text":"Hi Ola,\\nit has been 12 days'
    b' since the last contact with Kari Nordmann.\\n","link":"https://app/assignments/42"}'
)
_MAIL = (
    b"From: reminders@localhost\r\nTo: ola@example.org\r\nSubject: Time to contact Kari\r\n"
    b"Message-ID: <reminder-1-email@localhost>\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: text/plain; charset="utf-8"\r\n\r\n'
    b"Hi Ola,\r\nit has been 12 days since the last contact with Kari Nordmann.\r\n.\r\n"
)


async def _blast_http(port: int, n: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = b"POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    request = head + b"Content-Length: %d\r\n\r\n" % len(_BODY) + _BODY
    for _ in range(n):
        writer.write(request)
        await reader.readuntil(b"\r\n\r\n")  # the receiver's answers have no body
    writer.close()
    await writer.wait_closed()


async def _blast_smtp(port: int, n: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def reply() -> None:
        while (await reader.readline())[3:4] == b"-":
            pass

    await reply()
    writer.write(b"EHLO bench\r\n")
    await reply()
    for _ in range(n):  # aiosmtpd has no PIPELINING: one command, one reply
        for command in (b"MAIL FROM:<reminders@localhost>\r\n", b"RCPT TO:<ola@example.org>\r\n"):
            writer.write(command)
            await reply()
        writer.write(b"DATA\r\n")
        await reply()
        writer.write(_MAIL)
        await reply()
    writer.write(b"QUIT\r\n")
    await reply()
    writer.close()
    await writer.wait_closed()


def receiver_ceiling(kind: str, messages: int) -> DeliveryResult:
    blast = _blast_http if kind == "webhook" else _blast_smtp
    each = math.ceil(messages / BLAST_CONNECTIONS)

    async def all_at_once(port: int) -> None:
        await asyncio.gather(*(blast(port, each) for _ in range(BLAST_CONNECTIONS)))

    with receiver("webhook" if kind == "webhook" else "smtp") as got:
        started = time.perf_counter()
        asyncio.run(all_at_once(got.port))
        elapsed = time.perf_counter() - started
    label = f"{kind}: receiver alone ({BLAST_CONNECTIONS} conns)"
    return DeliveryResult(label, each * BLAST_CONNECTIONS, elapsed, got.accepted, got.peak)


# --- the sender, with default settings -----------------------------------------------------------


def settings_for(ports: dict[str, int], **delivery: str) -> Settings:
    """Default settings but for where the receivers are (and any *delivery* override)."""
    env = {f"REMINDERS_DELIVERY_{k.upper()}": v for k, v in delivery.items()}
    if "webhook" in ports:
        env["REMINDERS_WEBHOOK_URL"] = f"http://127.0.0.1:{ports['webhook']}/hook"
        env["REMINDERS_WEBHOOK_SECRET"] = BENCH_WEBHOOK_SECRET
    if "email" in ports:
        env.update(
            REMINDERS_SMTP_HOST="127.0.0.1",
            REMINDERS_SMTP_PORT=str(ports["email"]),
            REMINDERS_SMTP_TLS="none",
        )
    return Settings.from_env(env)


def requeue(conn: Connection, channels: list[str]) -> None:
    """Every configuration sends the same messages: the channels' rows are pending again."""
    conn.execute(
        "UPDATE reminders.reminder_deliveries SET status = 'pending', attempts = 0,"
        " sent_at = NULL, claimed_by = NULL, claimed_until = NULL, next_attempt_at = %s"
        " WHERE channel = ANY(%s)",
        (NOW, channels),
    )
    conn.execute("VACUUM ANALYZE reminders.reminder_deliveries")


def drain(
    conn: Connection, settings: Settings, after_batch: Callable[[], None] | None = None
) -> tuple[int, float]:
    """Everything due drained as ``reminders worker --once`` does; (sent, seconds)."""
    channels = build_channels(settings)
    stop = None
    if after_batch is not None:

        def stop() -> bool:  # called before each batch
            after_batch()
            return False

    try:
        with delivery_drain(settings, conn, channels, clock=lambda: datetime.now(UTC)) as svc:
            started = time.perf_counter()
            result = svc.drain(stop=stop)
            elapsed = time.perf_counter() - started
    finally:
        close_all(channels)
    return result.sent, elapsed


def with_defaults(conn: Connection, kind: str) -> DeliveryResult:
    requeue(conn, [kind])
    with receiver("webhook" if kind == "webhook" else "smtp") as got:
        sent, elapsed = drain(conn, settings_for({kind: got.port}))
    return DeliveryResult(f"{kind}: default settings", sent, elapsed, got.accepted, got.peak)


def _rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def long_drain(conn: Connection) -> LongDrain:
    """Both channels at once, in batches of LONG_DRAIN_BATCH: many batches, each a claim, a
    send on both channels and a record."""
    requeue(conn, ["email", "webhook"])
    out = LongDrain()

    def sample() -> None:
        out.rss_mb.append(_rss_mb())
        out.fds.append(len(os.listdir("/proc/self/fd")))

    with receiver("webhook") as hooks, receiver("smtp") as mails:
        settings = settings_for(
            {"webhook": hooks.port, "email": mails.port}, batch_size=str(LONG_DRAIN_BATCH)
        )
        out.messages, out.seconds = drain(conn, settings, after_batch=sample)
    sample()
    out.batches = len(out.rss_mb) - 1
    out.peak_connections = {"webhook": hooks.peak, "email": mails.peak}
    out.concurrency = settings.delivery.concurrency
    return out


def worker_processes(url: str, processes: int) -> DeliveryResult:
    """Webhook deliveries drained by several ``reminders worker --once`` processes (default
    settings), their start-up included."""
    with receiver("webhook") as got:
        env = cli_env(
            url,
            REMINDERS_WEBHOOK_URL=f"http://127.0.0.1:{got.port}/hook",
            REMINDERS_WEBHOOK_SECRET=BENCH_WEBHOOK_SECRET,
        )
        started = time.perf_counter()
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "assignment_reminders", "worker", "--once"],
                env=env,
                stdout=subprocess.DEVNULL,
            )
            for _ in range(processes)
        ]
        codes = [w.wait() for w in workers]
        elapsed = time.perf_counter() - started
    if any(codes):
        raise RuntimeError(f"a worker failed: exit codes {codes}")
    label = f"webhook: {processes} worker processes"
    return DeliveryResult(label, got.accepted, elapsed, got.accepted, got.peak)


@dataclass
class DeliveryBench:
    results: list[DeliveryResult]
    long: LongDrain | None


def bench_delivery(dbs: Databases, messages: int, processes: int = 2) -> DeliveryBench:
    print(f"delivery: seeding for {messages:,} messages per channel ...", file=sys.stderr)
    url = dbs.create()
    results = []
    with connect(url, purpose="bench-delivery") as conn:
        migrate(conn)
        seed(conn, assignments=math.ceil(messages / DUE_PER_ASSIGNMENT), today=TODAY, random_seed=1)
        ReminderPass(conn, channels=["email", "webhook"]).run(now=NOW)
        print("delivery: receivers alone, then default settings ...", file=sys.stderr, flush=True)
        for kind in ("webhook", "email"):
            results.append(receiver_ceiling(kind, messages))
            results.append(with_defaults(conn, kind))
        print("delivery: a long drain of small batches ...", file=sys.stderr, flush=True)
        long = long_drain(conn)
        if processes > 1:
            requeue(conn, ["webhook"])
    if processes > 1:
        results.append(worker_processes(url, processes))
    return DeliveryBench(results, long)


def table(bench: DeliveryBench) -> str:
    head = (
        f"{'delivery':<38}  {'messages':>8}  {'seconds':>7}  {'msg/s':>7}  {'accepted':>8}"
        "  peak conns"
    )
    lines = [head, "-" * len(head)]
    for d in bench.results:
        lines.append(
            f"{d.label:<38}  {d.messages:>8,}  {d.seconds:7.2f}  {d.per_second:7,.0f}"
            f"  {d.accepted:>8,}  {d.peak_connections:>10}"
        )
    if bench.long is not None:
        long = bench.long
        lines.append(
            f"{'both: long drain, batches of ' + str(LONG_DRAIN_BATCH):<38}  {long.messages:>8,}"
            f"  {long.seconds:7.2f}  {long.messages / long.seconds:7,.0f}  {'':>8}"
            f"  {long.peak_connections['webhook']} + {long.peak_connections['email']}"
        )
    return "\n".join(lines)


def _find(results: list[DeliveryResult], label: str) -> DeliveryResult:
    return next(r for r in results if r.label == label)


def delivery_targets(bench: DeliveryBench) -> list[Target]:
    targets = []
    for kind, goal in (("webhook", WEBHOOK_TARGET), ("email", EMAIL_TARGET)):
        got = _find(bench.results, f"{kind}: default settings")
        alone = _find(bench.results, f"{kind}: receiver alone ({BLAST_CONNECTIONS} conns)")
        targets.append(
            Target(
                f"delivery: {kind}, default settings",
                f"{got.per_second:,.0f} msg/s",
                f">= {goal:,} msg/s",
                f"{got.per_second / alone.per_second:.2f}x receiver alone"
                f" ({alone.per_second:,.0f} msg/s)",
                got.per_second >= goal,
            )
        )
    long = bench.long
    if long is not None and long.batches >= 4:
        warm = long.batches // 4  # after the first quarter: connections open, caches warm
        half = long.batches // 2  # (the last sample is after the channels closed)
        growth = long.rss_mb[-1] - long.rss_mb[warm]
        peak = max(long.peak_connections.values())
        targets += [
            Target(
                f"delivery: open connections, {long.batches} batches",
                f"{long.peak_connections['webhook']} webhook,"
                f" {long.peak_connections['email']} email",
                f"<= {long.concurrency} per channel",
                "-",
                0 < peak <= long.concurrency,
            ),
            Target(
                f"delivery: file descriptors, {long.batches} batches",
                f"{max(long.fds[:half])} -> {max(long.fds[half:-1])} (first/second half, max)",
                "no growth",
                "-",
                max(long.fds[half:-1]) <= max(long.fds[:half]),
            ),
            Target(
                f"delivery: RSS, {long.batches} batches",
                f"{long.rss_mb[warm]:.0f} -> {long.rss_mb[-1]:.0f} MB",
                "flat (<= +5 MB)",
                "-",
                growth <= 5,
            ),
        ]
    return targets


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.delivery", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--messages",
        type=options.positive,
        default=5000,
        help="messages per channel (default: %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=options.positive,
        default=2,
        help="also time this many `reminders worker --once` processes (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    load = os.getloadavg()
    with server() as admin_url:
        dbs = Databases(admin_url)
        try:
            bench = bench_delivery(dbs, args.messages, args.workers)
        finally:
            dbs.drop_all()
    print(table(bench))
    print()
    print(render(delivery_targets(bench)))
    print(
        f"\n{os.cpu_count()} CPUs; load average at start {load[0]:.2f}, at end"
        f" {os.getloadavg()[0]:.2f}."
    )


if __name__ == "__main__":
    main()
