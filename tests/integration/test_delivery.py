"""Delivery against a real SMTP server (aiosmtpd) and a real local HTTP server."""

from __future__ import annotations

import logging
import os
import random
import threading
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from assignment_reminders.config import (
    DeliverySettings,
    Secret,
    Settings,
    SmtpSettings,
    webhook_key,
)
from assignment_reminders.db.database import Connection, connect
from assignment_reminders.delivery.channels import Channel, configured_channel_names
from assignment_reminders.delivery.mail import EmailChannel
from assignment_reminders.delivery.messages import Renderer
from assignment_reminders.delivery.retry import RetryPolicy
from assignment_reminders.delivery.service import DeliveryDrain
from assignment_reminders.delivery.states import DeliveryStatus, Outcome
from assignment_reminders.delivery.webhook import WebhookChannel
from assignment_reminders.dev.seed import seed
from assignment_reminders.exceptions import LockLostError
from assignment_reminders.job.reminder_pass import ReminderPass
from assignment_reminders.logs import FIELDS
from tests.conftest import wait_for
from tests.receivers import WEBHOOK_SECRET, Recorder, smtp_receiver, webhook_receiver

TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def schedule(conn: Connection, channels: list[str], assignments: int = 40) -> int:
    seed(conn, assignments=assignments, today=TODAY)
    counts = ReminderPass(conn, batch_size=15, channels=channels).run(now=NOW)
    created = counts.reminders_created + counts.escalations_created
    assert created > 0
    return created


def service(
    conn: Connection,
    channels: dict[str, Channel],
    clock: Clock,
    *,
    max_attempts: int = 5,
    lease: timedelta = timedelta(minutes=5),
    worker: str | None = None,
) -> DeliveryDrain:
    return DeliveryDrain(
        conn,
        channels,
        Renderer("https://app.example.org"),
        clock=clock,
        rng=random.Random(7),
        policy=RetryPolicy(max_attempts=max_attempts, base_seconds=10, cap_seconds=60),
        lease=lease,
        batch_size=7,
        worker=worker,
    )


def statuses(conn: Connection) -> dict[str, int]:
    rows = conn.execute(
        "SELECT status, count(*) AS n FROM reminders.reminder_deliveries GROUP BY status"
    ).fetchall()
    return {r["status"]: r["n"] for r in rows}


def keys(conn: Connection, channel: str) -> set[str]:
    rows = conn.execute(
        "SELECT idempotency_key FROM reminders.reminder_deliveries WHERE channel = %s", (channel,)
    ).fetchall()
    return {r["idempotency_key"] for r in rows}


@pytest.fixture
def webhook() -> Iterator[tuple[Recorder, WebhookChannel]]:
    recorder = Recorder()
    with webhook_receiver(recorder, secret=WEBHOOK_SECRET) as url:
        channel = WebhookChannel(url, webhook_key(WEBHOOK_SECRET), concurrency=4)
        yield recorder, channel
        channel.close()


@pytest.fixture
def mail() -> Iterator[tuple[Recorder, EmailChannel]]:
    recorder = Recorder()
    with smtp_receiver(recorder) as (host, port):
        smtp = SmtpSettings(host=host, port=port, tls="none", sender="reminders@example.org")
        channel = EmailChannel(smtp, concurrency=4)
        yield recorder, channel
        channel.close()


def drain_until_done(svc: DeliveryDrain, clock: Clock, rounds: int = 10) -> None:
    for _ in range(rounds):
        svc.drain()
        clock.advance(timedelta(minutes=2))  # past any backoff of this policy


def test_receivers_failing_twice_get_exactly_one_accepted_message_per_reminder(
    conn: Connection,
    webhook: tuple[Recorder, WebhookChannel],
    mail: tuple[Recorder, EmailChannel],
) -> None:
    hooks, webhook_channel = webhook
    mails, email_channel = mail
    hooks.fail_first = mails.fail_first = 2
    created = schedule(conn, ["email", "webhook"])
    clock = Clock(NOW)
    svc = service(conn, {"email": email_channel, "webhook": webhook_channel}, clock)

    drain_until_done(svc, clock)

    assert statuses(conn) == {"sent": 2 * created}
    assert set(hooks.accepted) == keys(conn, "webhook")
    assert all(len(v) == 1 for v in hooks.accepted.values())
    assert set(hooks.attempts.values()) == {3}
    message_ids = {f"<{k}@example.org>" for k in keys(conn, "email")}
    assert set(mails.accepted) == message_ids
    assert all(len(v) == 1 for v in mails.accepted.values())
    row = conn.execute(
        "SELECT min(attempts) AS lo, max(attempts) AS hi FROM reminders.reminder_deliveries"
    ).fetchone()
    assert row == {"lo": 3, "hi": 3}


def test_every_webhook_verifies_with_the_standard_webhooks_library(
    conn: Connection, webhook: tuple[Recorder, WebhookChannel]
) -> None:
    from standardwebhooks import Webhook

    hooks, channel = webhook
    created = schedule(conn, ["webhook"], assignments=10)
    svc = service(conn, {"webhook": channel}, Clock(NOW))
    svc.drain()
    assert hooks.rejected == []  # the receiver verified each request with standardwebhooks
    assert hooks.accepted_total == created
    assert set(hooks.accepted) == keys(conn, "webhook")  # webhook-id is the idempotency key
    for item in hooks.arrivals:
        assert Webhook(WEBHOOK_SECRET).verify(item["body"], item["headers"]) == item["json"]
        assert item["json"]["id"] == item["headers"]["webhook-id"]
        assert item["json"]["link"].startswith("https://app.example.org/assignments/")


def test_a_webhook_signed_with_another_secret_is_refused_by_the_receiver(
    conn: Connection,
) -> None:
    recorder = Recorder()
    with webhook_receiver(recorder, secret=WEBHOOK_SECRET) as url:
        other = webhook_key("whsec_" + "A" * 32)
        channel = WebhookChannel(url, other)
        schedule(conn, ["webhook"], assignments=10)
        service(conn, {"webhook": channel}, Clock(NOW)).drain()
        channel.close()
    assert recorder.accepted_total == 0
    assert recorder.rejected and set(recorder.rejected) == {"No matching signature found"}


def test_email_is_in_the_organization_language(
    conn: Connection, mail: tuple[Recorder, EmailChannel]
) -> None:
    mails, channel = mail
    schedule(conn, ["email"], assignments=10)
    conn.execute("UPDATE public.organizations SET language = 'nb'")
    service(conn, {"email": channel}, Clock(NOW)).drain()
    received = [m[0] for m in mails.accepted.values()]
    assert received
    for message in received:
        assert message.get_content().startswith("Hei ")
        assert "Tid for å ta kontakt" in message["Subject"] or "oppfølging" in message["Subject"]


def test_a_delivery_that_keeps_failing_is_dead_with_its_last_error(
    conn: Connection, webhook: tuple[Recorder, WebhookChannel]
) -> None:
    hooks, channel = webhook
    hooks.fail_first = 100
    created = schedule(conn, ["webhook"], assignments=10)
    clock = Clock(NOW)
    drain_until_done(service(conn, {"webhook": channel}, clock, max_attempts=3), clock)
    assert statuses(conn) == {"dead": created}
    assert set(hooks.attempts.values()) == {3}
    errors = conn.execute(
        "SELECT DISTINCT last_error FROM reminders.reminder_deliveries"
    ).fetchall()
    assert errors == [{"last_error": "webhook: HTTP 500"}]


def test_a_client_error_is_dead_at_once(
    conn: Connection, webhook: tuple[Recorder, WebhookChannel]
) -> None:
    hooks, channel = webhook
    hooks.fail_first, hooks.fail_status = 100, 410
    created = schedule(conn, ["webhook"], assignments=10)
    service(conn, {"webhook": channel}, Clock(NOW)).drain()
    assert statuses(conn) == {"dead": created}
    assert set(hooks.attempts.values()) == {1}


def test_retries_wait_for_their_backoff(
    conn: Connection, webhook: tuple[Recorder, WebhookChannel]
) -> None:
    hooks, channel = webhook
    hooks.fail_first = 1
    created = schedule(conn, ["webhook"], assignments=10)
    clock = Clock(NOW)
    svc = service(conn, {"webhook": channel}, clock)
    svc.drain()
    assert statuses(conn) == {"pending": created}
    svc.drain()  # same moment: nothing is due yet
    assert hooks.accepted_total == 0
    clock.advance(timedelta(seconds=11))  # first backoff is 5..10 s
    svc.drain()
    assert statuses(conn) == {"sent": created}


def test_a_dead_workers_claims_are_claimed_again_after_the_lease(
    database_url: str, conn: Connection, webhook: tuple[Recorder, WebhookChannel]
) -> None:
    hooks, channel = webhook
    created = schedule(conn, ["webhook"], assignments=10)
    clock = Clock(NOW)
    lease = timedelta(seconds=30)
    with connect(database_url, purpose="test-dead-worker") as other:
        dead = service(other, {"webhook": channel}, clock, lease=lease, worker="dead-worker")
        claimed = dead.claim(clock(), limit=1000).deliveries  # ... and it dies before sending
    assert len(claimed) == created
    alive = service(conn, {"webhook": channel}, clock, lease=lease, worker="alive")
    assert alive.drain().claimed == 0  # the lease still runs
    clock.advance(lease + timedelta(seconds=1))
    result = alive.drain()
    assert (result.claimed, result.sent) == (created, created)
    assert statuses(conn) == {"sent": created}
    assert hooks.accepted_total == created
    attempts = conn.execute(
        "SELECT DISTINCT attempts FROM reminders.reminder_deliveries"
    ).fetchall()
    assert attempts == [{"attempts": 2}]


def test_a_late_result_from_an_expired_claim_is_not_recorded(
    conn: Connection, webhook: tuple[Recorder, WebhookChannel]
) -> None:
    _, channel = webhook
    schedule(conn, ["webhook"], assignments=10)
    clock = Clock(NOW)
    slow = service(conn, {"webhook": channel}, clock, lease=timedelta(seconds=30), worker="slow")
    claimed = slow.claim(clock()).deliveries
    clock.advance(timedelta(seconds=31))
    fast = service(conn, {"webhook": channel}, clock, worker="fast")
    fast.drain()
    late = [Outcome(d.id, DeliveryStatus.DEAD, clock(), error="late") for d in claimed]
    assert slow.record(late) == 0
    assert "dead" not in statuses(conn)


def test_workers_sharing_the_queue_send_each_message_once(
    database_url: str, conn: Connection, webhook: tuple[Recorder, WebhookChannel]
) -> None:
    hooks, channel = webhook
    created = schedule(conn, ["webhook"], assignments=80)
    clock = Clock(NOW)
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            with connect(database_url, purpose=f"test-{name}") as c:
                svc = service(c, {"webhook": channel}, clock, worker=name)
                start.wait()
                svc.drain()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert hooks.accepted_total == created
    assert set(hooks.attempts.values()) == {1}
    claimers = conn.execute(
        "SELECT count(DISTINCT claimed_by) AS n FROM reminders.reminder_deliveries"
    ).fetchone()
    assert claimers == {"n": 0}  # all finished, no claim left behind


def test_preferences_turn_a_channel_off_for_one_person(conn: Connection) -> None:
    seed(conn, assignments=40, today=TODAY)
    conn.execute(
        "INSERT INTO reminders.delivery_preferences (user_id, channel, enabled)"
        " SELECT user_id, 'webhook', false FROM public.peer_mentors ORDER BY id LIMIT 1"
    )
    ReminderPass(conn, channels=["email", "webhook"]).run(now=NOW)
    row = conn.execute(
        "SELECT count(*) AS n FROM reminders.reminder_deliveries d"
        " JOIN reminders.reminder_dispatches r ON r.id = d.dispatch_id"
        " JOIN reminders.delivery_preferences p ON p.user_id = r.recipient_user_id"
        "  AND p.channel = d.channel"
    ).fetchone()
    assert row == {"n": 0}
    # the premise: the person who turned webhooks off was reminded, by email and only by email
    theirs = conn.execute(
        "SELECT count(*) FILTER (WHERE d.channel = 'email') AS email,"
        " count(*) FILTER (WHERE d.channel = 'webhook') AS webhook"
        " FROM reminders.reminder_deliveries d"
        " JOIN reminders.reminder_dispatches r ON r.id = d.dispatch_id"
        " JOIN reminders.delivery_preferences p ON p.user_id = r.recipient_user_id"
        "  AND p.channel = 'webhook' AND NOT p.enabled"
    ).fetchone()
    assert theirs is not None
    assert theirs["email"] >= 1
    assert theirs["webhook"] == 0
    emails = conn.execute(
        "SELECT count(*) AS n FROM reminders.reminder_deliveries WHERE channel = 'email'"
    ).fetchone()
    assert emails is not None
    assert emails["n"] > 0


def test_an_unconfigured_channel_is_skipped_with_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    assert configured_channel_names(Settings()) == []
    messages = [r.getMessage() for r in caplog.records]
    assert "email channel not configured (REMINDERS_SMTP_HOST is unset): skipped" in messages
    assert any(m.startswith("webhook channel not configured") for m in messages)
    configured = Settings(
        smtp=SmtpSettings(host="127.0.0.1"),
        delivery=DeliverySettings(
            webhook_url=Secret("http://x/"), webhook_secret=Secret(WEBHOOK_SECRET)
        ),
    )
    assert configured_channel_names(configured) == ["email", "webhook"]


def test_no_delivery_rows_for_channels_not_configured(conn: Connection) -> None:
    schedule(conn, [], assignments=20)
    assert statuses(conn) == {}


def test_an_unexpected_error_fails_one_delivery_not_its_batch(
    conn: Connection, webhook: tuple[Recorder, WebhookChannel]
) -> None:
    import jinja2

    hooks, channel = webhook
    schedule(conn, ["webhook"], assignments=40)
    only_reminders = jinja2.DictLoader({"reminder.en.txt": "{% set subject = 'x' %}hello"})
    svc = DeliveryDrain(
        conn,
        {"webhook": channel},
        Renderer("https://a", loader=only_reminders),  # no escalation template: a bug
        clock=Clock(NOW),
        rng=random.Random(1),
    )
    svc.drain()
    rows = conn.execute(
        "SELECT r.kind, d.status, d.last_error, count(*) AS n FROM reminders.reminder_deliveries d"
        " JOIN reminders.reminder_dispatches r ON r.id = d.dispatch_id GROUP BY 1, 2, 3 ORDER BY 1"
    ).fetchall()
    assert [(r["kind"], r["status"], r["last_error"]) for r in rows] == [
        ("escalation", "pending", "webhook: TemplateNotFound"),
        ("reminder", "sent", None),
    ]
    assert hooks.accepted_total == rows[1]["n"]


def test_a_flaky_receiver_gets_every_message_at_least_once_under_one_key(
    conn: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quarter of first attempts get a 503, a quarter arrive but lose their answer (the
    connection drops): every message ends up sent; a message is accepted twice only when its
    first answer was lost, and then with the same webhook-id and the same body."""

    def script(key: str, attempt: int) -> str:
        if attempt > 1:
            return "ok"
        return {0: "fail", 1: "lost"}.get(zlib.crc32(key.encode()) % 4, "ok")

    hooks = Recorder(script=script, fail_status=503)
    clock = Clock(NOW)
    with webhook_receiver(hooks, secret=WEBHOOK_SECRET) as url:
        channel = WebhookChannel(url, webhook_key(WEBHOOK_SECRET), concurrency=8)
        limits: list[int] = []  # every limit the channel set itself, in order
        update = channel.limit.update

        def recording(sent: int, seconds: float, *, failures: int = 0) -> int:
            limits.append(update(sent, seconds, failures=failures))
            return limits[-1]

        monkeypatch.setattr(channel.limit, "update", recording)
        try:
            created = schedule(conn, ["webhook"], assignments=120)
            drain_until_done(service(conn, {"webhook": channel}, clock), clock)
        finally:
            channel.close()
    sent = keys(conn, "webhook")
    assert statuses(conn) == {"sent": created}
    lost = {k for k in sent if script(k, 1) == "lost"}
    failed = {k for k in sent if script(k, 1) == "fail"}
    assert lost and failed and len(lost | failed) < created  # the premise: all three kinds
    assert set(hooks.accepted) == sent
    for key, items in hooks.accepted.items():
        assert len(items) == (2 if key in lost else 1), key
        assert {i["headers"]["webhook-id"] for i in items} == {key}
        assert {i["json"]["id"] for i in items} == {key}
        assert len({i["body"] for i in items}) == 1  # a retry is the same message
    assert {k for k, n in hooks.attempts.items() if n == 2} == lost | failed
    assert max(hooks.attempts.values()) == 2
    assert hooks.rejected == []  # every attempt was signed correctly
    # failures shrank the messages in flight (it starts at 4); the retries, all answered, may
    # have grown it again by the end
    assert min(limits) < 4, limits


def test_a_long_drain_keeps_connections_and_file_descriptors_bounded(conn: Connection) -> None:
    """Many small batches on both channels: each channel opens at most its concurrency in
    connections, once, and keeps them; this process's open files do not grow with batches."""
    hooks, mails = Recorder(), Recorder()
    fds: list[int] = []

    def sample() -> bool:  # called before each batch
        fds.append(len(os.listdir("/proc/self/fd")))
        return False

    with (
        webhook_receiver(hooks, secret=WEBHOOK_SECRET) as url,
        smtp_receiver(mails) as (host, port),
    ):
        smtp = SmtpSettings(host=host, port=port, tls="none", sender="reminders@example.org")
        channels: dict[str, Channel] = {
            "webhook": WebhookChannel(url, webhook_key(WEBHOOK_SECRET), concurrency=3),
            "email": EmailChannel(smtp, concurrency=3),
        }
        try:
            created = schedule(conn, ["email", "webhook"], assignments=300)
            svc = DeliveryDrain(
                conn,
                channels,
                Renderer("https://app.example.org"),
                clock=Clock(NOW),
                rng=random.Random(1),
                batch_size=6,
            )
            result = svc.drain(stop=sample)
        finally:
            for channel in channels.values():
                channel.close()
    assert result.sent == 2 * created
    assert len(fds) >= 50  # batches
    half = len(fds) // 2
    assert max(fds[half:]) <= max(fds[:half]), fds  # no growth with the number of batches
    assert max(fds) - fds[0] <= 2 * (3 + 3) + 2 * 3  # connections both ends + two event loops
    for recorder, probes in ((hooks, 0), (mails, 1)):  # aiosmtpd's start() connects once itself
        assert 1 <= recorder.peak_connections <= 3
        assert recorder.connections_total == recorder.peak_connections + probes  # never reopened
    assert hooks.accepted_total == mails.accepted_total == created


def test_a_closed_channel_sends_again_on_new_connections(
    conn: Connection, mail: tuple[Recorder, EmailChannel]
) -> None:
    mails, channel = mail
    created = schedule(conn, ["email"], assignments=20)
    clock = Clock(NOW)
    first = service(conn, {"email": channel}, clock)
    first.deliver_batch()
    channel.close()  # e.g. a cron run's drain ends; the next one reuses the object
    wait_for(lambda: mails.open_connections == 0)  # QUIT sent, the server saw them go
    first.drain()
    assert statuses(conn) == {"sent": created}
    assert mails.accepted_total == created


def by_status_and_attempts(conn: Connection) -> dict[tuple[str, int], int]:
    rows = conn.execute(
        "SELECT status, attempts, count(*) AS n FROM reminders.reminder_deliveries GROUP BY 1, 2"
    ).fetchall()
    return {(r["status"], r["attempts"]): r["n"] for r in rows}


@pytest.mark.parametrize("how", ["stop", "lock lost"])
def test_a_drain_told_to_stop_records_the_batch_it_claimed_and_claims_no_more(
    conn: Connection, webhook: tuple[Recorder, WebhookChannel], how: str
) -> None:
    """The drain claims the next batch while one is sending. Told to stop (SIGTERM) or failing
    its fence check (the cron run lost its lock) before the second claim, it still sends and
    records the first batch, and claims nothing more."""
    hooks, channel = webhook
    created = schedule(conn, ["webhook"], assignments=60)
    svc = service(conn, {"webhook": channel}, Clock(NOW))  # batches of 7
    calls = 0

    def stop() -> bool:
        nonlocal calls
        calls += 1
        if calls == 2:
            if how == "lock lost":
                raise LockLostError("the run's lock is gone")
            return True
        return False

    if how == "lock lost":
        with pytest.raises(LockLostError):
            svc.drain(stop=stop)
    else:
        assert svc.drain(stop=stop).sent == 7
    assert calls == 2
    assert by_status_and_attempts(conn) == {("sent", 1): 7, ("pending", 0): created - 7}
    assert hooks.accepted_total == 7


def test_failed_deliveries_are_one_warning_per_batch_counted_by_channel_and_reason(
    conn: Connection,
    webhook: tuple[Recorder, WebhookChannel],
    caplog: pytest.LogCaptureFixture,
) -> None:
    hooks, channel = webhook
    hooks.fail_first = 100  # every attempt answered 500
    created = schedule(conn, ["webhook"], assignments=60)
    assert created > 7  # more than one batch of 7
    caplog.set_level(logging.DEBUG, logger="assignment_reminders.delivery")
    service(conn, {"webhook": channel}, Clock(NOW), max_attempts=1).drain()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    batches = -(-created // 7)
    assert len(warnings) == batches, [r.getMessage() for r in warnings]
    counted = [getattr(r, FIELDS)["failed_deliveries"] for r in warnings]
    assert sum(c["webhook"]["HTTP 500 (giving up)"] for c in counted) == created
    assert warnings[0].getMessage() == (
        "7 of 7 deliveries in the batch failed: webhook: 7 HTTP 500 (giving up)"
    )
