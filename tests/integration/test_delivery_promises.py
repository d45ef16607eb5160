"""Issue 18: delivery keeps its promises (backoff from the failure, a lease that is kept, two live
workers never send the same message) and sends nothing stale (cancelled at claim, by reason).

Real PostgreSQL, a real HTTP receiver and a real SMTP server (aiosmtpd), slow and failing;
several workers, each with its own connection and channels, in threads, on the real clock.
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from assignment_reminders.clock import utc_now
from assignment_reminders.config import SmtpSettings, webhook_key
from assignment_reminders.db.database import Connection, connect
from assignment_reminders.delivery.channels import Channel
from assignment_reminders.delivery.mail import EmailChannel
from assignment_reminders.delivery.messages import Renderer
from assignment_reminders.delivery.retry import RetryPolicy
from assignment_reminders.delivery.service import LEASE_MARGIN, DeliveryDrain
from assignment_reminders.delivery.states import CancelReason
from assignment_reminders.delivery.webhook import WebhookChannel
from assignment_reminders.dev.seed import seed
from assignment_reminders.exceptions import InputError
from assignment_reminders.job.reminder_pass import ReminderPass
from tests.conftest import wait_for
from tests.receivers import WEBHOOK_SECRET, Recorder, smtp_receiver, webhook_receiver

TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SEED = 18


def schedule(conn: Connection, channels: list[str], assignments: int) -> int:
    """Seed and run the reminder pass as of NOW; the deliveries are then made due now."""
    seed(conn, assignments=assignments, today=TODAY)
    counts = ReminderPass(conn, batch_size=50, channels=channels).run(now=NOW)
    conn.execute("UPDATE reminders.reminder_deliveries SET next_attempt_at = now()")
    return counts.reminders_created + counts.escalations_created


def channels_for(
    url: str, smtp: tuple[str, int], *, concurrency: int, timeout: float
) -> dict[str, Channel]:
    host, port = smtp
    mail = SmtpSettings(host=host, port=port, tls="none", sender="reminders@example.org")
    return {
        "webhook": WebhookChannel(
            url, webhook_key(WEBHOOK_SECRET), timeout=timeout, concurrency=concurrency
        ),
        "email": EmailChannel(mail, timeout=timeout, concurrency=concurrency),
    }


def settled(conn: Connection) -> bool:
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE status IN ('pending', 'sending')) AS open"
        " FROM reminders.reminder_deliveries"
    ).fetchone()
    return row is not None and row["open"] == 0


def work_until(svc: DeliveryDrain, stop: threading.Event) -> None:
    """A worker's loop (as ``reminders worker``): drain, and poll briefly when nothing is due."""
    while not stop.is_set():
        result = svc.drain(stop=stop.is_set)
        if result.claimed == result.cancelled == 0:
            stop.wait(0.05)


def fails_first(salt: int, share: int) -> Callable[[str, int], str]:
    """A seeded script: about one message in *share* fails its first attempt (HTTP 503 / SMTP
    451), every later attempt is accepted."""

    def script(key: str, attempt: int) -> str:
        return (
            "fail" if attempt == 1 and zlib.crc32(f"{salt}:{key}".encode()) % share == 0 else "ok"
        )

    return script


class ReceiverTime:
    """A clock that only the receiver moves: each request it gets takes *step* of it, so a batch
    sent one message at a time takes as long as its messages, and no test sleeps."""

    def __init__(self, start: datetime, step: timedelta) -> None:
        self.now, self.step = start, step
        self.lock = threading.Lock()

    def __call__(self) -> datetime:
        with self.lock:
            return self.now

    def request(self) -> float:
        with self.lock:
            self.now += self.step
            return self.now.timestamp()

    def jump(self, to: datetime) -> None:
        with self.lock:
            self.now = max(self.now, to)


def test_a_retry_waits_its_backoff_counted_from_the_failure_not_from_the_claim(
    conn: Connection,
) -> None:
    """Every webhook is refused three times, one message in flight, each taking 2 s: a batch
    takes longer than the backoff, so a backoff counted from the claim makes the late messages
    of a batch due again before they even failed (and an idle worker retries them at once).
    After every round each waiting row's next attempt lies within the jitter band of the
    backoff counted from its own failure, and each retry came at least the lower bound after
    the previous attempt."""
    time = ReceiverTime(NOW, timedelta(seconds=2))
    hooks = Recorder(fail_first=3, fail_status=503, clock=time.request)
    policy = RetryPolicy(max_attempts=5, base_seconds=10, cap_seconds=600)
    with webhook_receiver(hooks, secret=WEBHOOK_SECRET) as url:
        channel = WebhookChannel(url, webhook_key(WEBHOOK_SECRET), timeout=5, concurrency=1)
        try:
            created = schedule(conn, ["webhook"], assignments=40)
            assert created >= 8  # the premise: a batch (2 s a message) outlasts a backoff (5-10 s)
            conn.execute("UPDATE reminders.reminder_deliveries SET next_attempt_at = %s", (NOW,))
            svc = DeliveryDrain(
                conn,
                {"webhook": channel},
                Renderer("https://app.example.org"),
                clock=time,
                rng=random.Random(SEED),
                policy=policy,
                lease=timedelta(hours=1),
                batch_size=created,
            )
            for _ in range(100):
                if settled(conn):
                    break
                result = svc.drain()
                waiting = conn.execute(
                    "SELECT idempotency_key, attempts, next_attempt_at"
                    " FROM reminders.reminder_deliveries WHERE status = 'pending'"
                ).fetchall()
                for r in waiting:
                    failed_at = hooks.arrived[r["idempotency_key"]][-1]  # = the failure's time
                    ceiling = min(
                        policy.cap_seconds, policy.base_seconds * 2 ** (r["attempts"] - 1)
                    )
                    wait = r["next_attempt_at"].timestamp() - failed_at
                    assert ceiling / 2 <= wait <= ceiling, (r, wait, ceiling)
                if result.claimed == 0:  # nothing due: on to the next retry
                    row = conn.execute(
                        "SELECT min(next_attempt_at) AS t FROM reminders.reminder_deliveries"
                        " WHERE status = 'pending'"
                    ).fetchone()
                    assert row is not None
                    time.jump(row["t"])
        finally:
            channel.close()
    rows = conn.execute(
        "SELECT status, attempts, count(*) AS n FROM reminders.reminder_deliveries GROUP BY 1, 2"
    ).fetchall()
    assert [(r["status"], r["attempts"], r["n"]) for r in rows] == [("sent", 4, created)]
    gaps = []
    for key, times in hooks.arrived.items():
        assert len(times) == 4, key
        for attempt, (before, after) in enumerate(itertools.pairwise(times), 1):
            lowest = min(policy.cap_seconds, policy.base_seconds * 2 ** (attempt - 1)) / 2
            gaps.append((after - before, lowest, key, attempt))
    early = [g for g in gaps if g[0] < g[1]]
    assert early == [], f"{len(early)} of {len(gaps)} retries came before their backoff"
    assert all(len(v) == 1 for v in hooks.accepted.values())


@pytest.fixture
def slow_receivers() -> Iterator[tuple[Recorder, Recorder, str, tuple[str, int]]]:
    """A webhook receiver and an SMTP server, each 150 ms per message, refusing the first
    attempt of about one message in five (seeded)."""
    hooks = Recorder(script=fails_first(SEED, 5), fail_status=503, delay=0.15)
    mails = Recorder(script=fails_first(SEED + 1, 5), delay=0.15)
    with ExitStack() as stack:
        url = stack.enter_context(webhook_receiver(hooks, secret=WEBHOOK_SECRET))
        smtp = stack.enter_context(smtp_receiver(mails))
        yield hooks, mails, url, smtp


def test_live_workers_with_short_leases_and_slow_receivers_never_send_a_message_twice(
    database_url: str,
    conn: Connection,
    slow_receivers: tuple[Recorder, Recorder, str, tuple[str, int]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Three workers, an 8 s lease (the least a 3 s send timeout and the product's 1 s margin
    allow), one message in flight per channel, batches that take longer than the lease to send
    (60 to 80 messages at 150 ms; the drain claims the next batch while one is sending, so a
    claimed batch also waits behind it): every message is accepted exactly once, and every
    attempt the receivers saw is the one the row counts. The one repeat docs/delivery.md allows
    a live worker is after a lost answer: an attempt the receiver accepted while the worker saw
    it fail (a timeout, a dropped connection; only a stall of seconds on this machine makes one
    here). Each acceptance after a message's first must be matched by such a failure, as the
    worker logged it; a second worker sending a message sees no failure and fails the test."""
    caplog.set_level(logging.DEBUG, logger="assignment_reminders.delivery.service")
    hooks, mails, url, smtp = slow_receivers
    created = schedule(conn, ["email", "webhook"], assignments=250)
    rng = random.Random(SEED)
    stop = threading.Event()
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def worker(name: str, batch_size: int) -> None:
        channels = channels_for(url, smtp, concurrency=1, timeout=3.0)
        try:
            with connect(database_url, purpose=f"test-{name}") as c:
                svc = DeliveryDrain(
                    c,
                    channels,
                    Renderer("https://app.example.org"),
                    clock=utc_now,
                    rng=random.Random(f"{SEED}:{name}"),
                    policy=RetryPolicy(max_attempts=5, base_seconds=0.5, cap_seconds=5),
                    lease=timedelta(seconds=8),
                    lease_margin=LEASE_MARGIN,
                    batch_size=batch_size,
                    worker=name,
                )
                start.wait()
                work_until(svc, stop)
        except BaseException as exc:
            errors.append(exc)
            stop.set()
        finally:
            for channel in channels.values():
                channel.close()

    threads = [
        threading.Thread(target=worker, args=(f"w{i}", rng.randint(60, 80))) for i in range(3)
    ]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: settled(conn) or errors, timeout=120)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    rows = conn.execute(
        "SELECT id, channel, idempotency_key, status, attempts FROM reminders.reminder_deliveries"
    ).fetchall()
    lost_answers = answers_lost(caplog.records)
    repeats: dict[str, tuple[int, list[str]]] = {}  # key: (accepted again, lost answers)
    for r in rows:
        receiver, key = received(hooks, mails, r)
        assert receiver.attempts[key] == r["attempts"], key  # every attempt counted, once
        if (again := len(receiver.accepted.get(key, [])) - 1) != 0:
            repeats[key] = (again, lost_answers.get(r["id"], []))
    unexplained = {k: v for k, v in repeats.items() if not 0 < v[0] <= len(v[1])}
    assert unexplained == {}, f"accepted again with no lost answer, or never: {unexplained}"
    assert len(rows) == 2 * created
    assert {r["status"] for r in rows} == {"sent"}
    again = sum(n for n, _ in repeats.values())
    assert hooks.accepted_total + mails.accepted_total == 2 * created + again
    assert hooks.rejected == []
    assert any(r["attempts"] == 2 for r in rows)  # the premise: some were retried


REFUSED = ("webhook: HTTP 503", "email: SMTP 451")  # the receivers' answers to a failed attempt


def answers_lost(records: list[logging.LogRecord]) -> dict[int, list[str]]:
    """Per delivery id, its attempts the drains logged as failed for another reason than the
    receiver's refusal: the receiver may have accepted them (a lost answer)."""
    lost: dict[int, list[str]] = {}
    for rec in records:
        if rec.name.endswith("delivery.service") and str(rec.msg).startswith("delivery %d (%s"):
            assert isinstance(rec.args, tuple)
            delivery_id, error = rec.args[0], str(rec.args[3])
            assert isinstance(delivery_id, int)
            if error not in REFUSED:
                lost.setdefault(delivery_id, []).append(error)
    return lost


def received(hooks: Recorder, mails: Recorder, row: dict[str, Any]) -> tuple[Recorder, str]:
    """The row's receiver and its key there (an email's is its Message-ID)."""
    if row["channel"] == "webhook":
        return hooks, row["idempotency_key"]
    return mails, f"<{row['idempotency_key']}@example.org>"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def hand_service(
    conn: Connection, channel: Channel, clock: Clock, worker: str, lease: timedelta
) -> DeliveryDrain:
    return DeliveryDrain(
        conn,
        {channel.name: channel},
        Renderer("https://app.example.org"),
        clock=clock,
        rng=random.Random(SEED),
        lease=lease,
        worker=worker,
    )


def test_a_worker_does_not_send_what_its_lease_no_longer_covers(
    database_url: str, conn: Connection
) -> None:
    """Worker A claims, then is too slow: its lease runs out and B claims the rows. A's
    heartbeat finds them gone and A sends none of them; B sends each once. A row A still holds
    but whose lease is too short for a send to end inside it goes back to pending, the claim
    not counted as an attempt."""
    hooks = Recorder()
    lease = timedelta(seconds=30)
    with webhook_receiver(hooks, secret=WEBHOOK_SECRET) as url:
        channel = WebhookChannel(url, webhook_key(WEBHOOK_SECRET), timeout=5)
        try:
            created = schedule(conn, ["webhook"], assignments=40)
            conn.execute("UPDATE reminders.reminder_deliveries SET next_attempt_at = %s", (NOW,))
            clock = Clock(NOW)
            with connect(database_url, purpose="test-b") as other:
                a = hand_service(conn, channel, clock, "a", lease)
                b = hand_service(other, channel, clock, "b", lease)
                first = a.claim(clock()).deliveries
                assert len(first) == created
                # 25 s later: 5 s of lease left, less than a send (5 s) and the margin (1 s)
                clock.now = NOW + timedelta(seconds=25)
                assert a.heartbeat(clock()) == []  # still ours: extended to 25 + 30 s
                clock.now = NOW + timedelta(seconds=50)  # 5 s left again, no heartbeat since
                outcomes = a.send(first, clock())
                assert {(o.status, o.attempted) for o in outcomes} == {("pending", False)}
                assert a.record(outcomes) == created
                assert hooks.attempts == {}
                row = conn.execute(
                    "SELECT DISTINCT status, attempts, next_attempt_at, claimed_by"
                    " FROM reminders.reminder_deliveries"
                ).fetchall()
                assert row == [
                    {
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": clock(),
                        "claimed_by": None,
                    }
                ]
                # A claims again, stalls past its lease; B takes the rows
                again = a.claim(clock()).deliveries
                clock.now += lease + timedelta(seconds=1)
                taken = b.claim(clock()).deliveries
                assert {d.id for d in taken} == {d.id for d in again}
                assert a.heartbeat(clock()) == sorted(d.id for d in again)  # lost, all of them
                late = a.send(again, NOW + timedelta(seconds=50))  # even by its stale clock
                assert {o.attempted for o in late} == {False}
                assert a.record(late) == 0  # B's rows: untouched
                assert hooks.attempts == {}
                assert b.record(b.send(taken, clock())) == created
        finally:
            channel.close()
    assert hooks.accepted_total == created
    assert set(hooks.attempts.values()) == {1}


def test_a_lease_too_short_for_the_channels_sends_is_refused(conn: Connection) -> None:
    channel = WebhookChannel("http://127.0.0.1:9/x", webhook_key(WEBHOOK_SECRET), timeout=10)
    with pytest.raises(InputError) as caught:
        hand_service(conn, channel, Clock(NOW), "w", timedelta(seconds=21))
    assert caught.value.field == "lease"
    assert "at least 22 s" in str(caught.value)
    hand_service(conn, channel, Clock(NOW), "w", timedelta(seconds=22))


def registered(conn: Connection, assignment_id: int) -> None:
    """A contact registered today: the activity trigger moves last_contact_date."""
    conn.execute(
        "INSERT INTO public.activities (assignment_id, occurred_on) VALUES (%s, %s)",
        (assignment_id, TODAY),
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (registered, CancelReason.GAP_CLOSED),
        (
            lambda c, a: c.execute(
                "UPDATE public.assignments SET status = 'paused' WHERE id = %s", (a,)
            ),
            CancelReason.ASSIGNMENT_PAUSED,
        ),
        (
            lambda c, a: c.execute(
                "UPDATE public.assignments SET ends_on = %s WHERE id = %s",
                (TODAY - timedelta(days=1), a),
            ),
            CancelReason.ASSIGNMENT_ENDED,
        ),
        (
            lambda c, a: c.execute(
                "UPDATE public.assignments SET status = 'ended' WHERE id = %s", (a,)
            ),
            CancelReason.ASSIGNMENT_ENDED,
        ),
    ],
    ids=["contact registered", "paused", "ends_on passed", "ended"],
)
def test_a_delivery_whose_reminder_no_longer_applies_is_cancelled_not_sent(
    conn: Connection,
    change: Callable[[Connection, int], object],
    reason: CancelReason,
) -> None:
    hooks, mails = Recorder(), Recorder()
    with ExitStack() as stack:
        url = stack.enter_context(webhook_receiver(hooks, secret=WEBHOOK_SECRET))
        smtp = stack.enter_context(smtp_receiver(mails))
        channels = channels_for(url, smtp, concurrency=4, timeout=5)
        try:
            created = schedule(conn, ["email", "webhook"], assignments=40)
            stale = conn.execute(
                "SELECT r.assignment_id, count(*) AS n FROM reminders.reminder_dispatches r"
                " JOIN reminders.reminder_deliveries d ON d.dispatch_id = r.id"
                " GROUP BY 1 ORDER BY 1 LIMIT 1"
            ).fetchone()
            assert stale is not None
            change(conn, stale["assignment_id"])
            svc = DeliveryDrain(
                conn,
                channels,
                Renderer("https://app.example.org"),
                clock=utc_now,
                rng=random.Random(SEED),
            )
            result = svc.drain()
        finally:
            for channel in channels.values():
                channel.close()
    gone = {
        r["idempotency_key"]
        for r in conn.execute(
            "SELECT d.idempotency_key FROM reminders.reminder_deliveries d"
            " JOIN reminders.reminder_dispatches r ON r.id = d.dispatch_id"
            " WHERE r.assignment_id = %s",
            (stale["assignment_id"],),
        ).fetchall()
    }
    assert len(gone) == stale["n"]
    assert gone.isdisjoint(hooks.accepted)  # nothing stale was sent, on either channel
    assert {f"<{k}@example.org>" for k in gone}.isdisjoint(mails.accepted)
    assert hooks.accepted_total + mails.accepted_total == 2 * created - len(gone)
    assert result.cancelled == stale["n"]
    rows = conn.execute(
        "SELECT r.assignment_id = %s AS stale, d.status, d.cancel_reason,"
        " d.cancelled_at IS NOT NULL AS dated, d.attempts"
        " FROM reminders.reminder_deliveries d"
        " JOIN reminders.reminder_dispatches r ON r.id = d.dispatch_id",
        (stale["assignment_id"],),
    ).fetchall()
    cancelled = [r for r in rows if r["stale"]]
    assert {(r["status"], r["cancel_reason"], r["dated"], r["attempts"]) for r in cancelled} == {
        ("cancelled", reason.value, True, 0)
    }
    assert {r["status"] for r in rows if not r["stale"]} == {"sent"}
