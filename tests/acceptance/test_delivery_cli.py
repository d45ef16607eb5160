"""``reminders run`` drains what it created; ``reminders worker`` drains the rest (processes)."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, date, datetime

from assignment_reminders.db.database import Connection, connect
from assignment_reminders.dev.seed import seed
from tests.conftest import start_reminders, wait_for
from tests.dispatch_counts import clean_totals, dispatch_count, table_counts
from tests.locks import lock_pids
from tests.receivers import WEBHOOK_SECRET, Recorder, smtp_receiver, webhook_receiver

NOW = "2026-11-28T12:00:00+00:00"
NOW_AT = datetime.fromisoformat(NOW)

RunCli = Callable[..., subprocess.CompletedProcess[str]]


def test_the_cron_run_delivers_what_it_created(
    conn: Connection, cli_env: dict[str, str], run_cli: RunCli
) -> None:
    seed(conn, assignments=50, today=date(2026, 11, 28))
    recorder = Recorder()
    with webhook_receiver(recorder, secret=WEBHOOK_SECRET) as url:
        cli_env.update(REMINDERS_WEBHOOK_URL=url, REMINDERS_WEBHOOK_SECRET=WEBHOOK_SECRET)
        done = run_cli("run", "--now", NOW, "--allow-distant-now")
        assert done.returncode == 0, done.stderr
        assert WEBHOOK_SECRET not in done.stdout + done.stderr
        assert recorder.rejected == []
        created = dispatch_count(conn)
        assert created > 0
        assert recorder.accepted_total == created
        # the line tells what the delivery step did, as the worker's does
        assert done.stdout.rstrip().endswith(
            f" ms; delivery: {created} delivered, 0 failed (to be retried), 0 dead, 0 cancelled"
        ), done.stdout
        again = run_cli("run", "--now", NOW, "--allow-distant-now", "--json")
        assert again.returncode == 0, again.stderr
        assert recorder.accepted_total == created
    outcome = json.loads(again.stdout)
    assert outcome["counts"]["reminders_created"] == 0
    assert outcome["delivery"] == {"delivered": 0, "retried": 0, "dead": 0, "cancelled": 0}


def test_without_channels_the_run_logs_the_skip_and_succeeds(
    conn: Connection, cli_env: dict[str, str], run_cli: RunCli
) -> None:
    cli_env["REMINDERS_LOG_LEVEL"] = "INFO"
    done = run_cli("run", "--now", NOW, "--allow-distant-now")
    assert done.returncode == 0, done.stderr
    assert "delivery" not in done.stdout  # no step ran: the line does not claim one
    # decided once per run: one line per skipped channel, not one per user of the decision
    assert done.stderr.count("email channel not configured (REMINDERS_SMTP_HOST is unset)") == 1
    assert done.stderr.count("webhook channel not configured") == 1


def test_a_run_that_loses_its_lock_while_delivering_reports_what_it_sent(
    conn: Connection, cli_env: dict[str, str]
) -> None:
    seed(conn, assignments=200, today=date(2026, 11, 28))
    recorder = Recorder(delay=0.05)  # batches of 10, one at a time: half a second each
    with webhook_receiver(recorder, secret=WEBHOOK_SECRET) as url:
        cli_env.update(
            REMINDERS_WEBHOOK_URL=url,
            REMINDERS_WEBHOOK_SECRET=WEBHOOK_SECRET,
            REMINDERS_DELIVERY_BATCH_SIZE="10",
            REMINDERS_DELIVERY_CONCURRENCY="1",
        )
        run = start_reminders(cli_env, "run", "--now", NOW, "--allow-distant-now", "--json")
        try:
            wait_for(lambda: recorder.accepted_total >= 15, timeout=60)
            (holder,) = lock_pids(conn)
            conn.execute("SELECT pg_terminate_backend(%s)", (holder,))
            out, err = run.communicate(timeout=120)
        finally:
            run.kill()
    outcome = json.loads(out)
    assert run.returncode == 1, err
    assert (outcome["status"], outcome["note"]) == ("failed", "lock_lost")
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE status = 'sent') AS sent, count(*) AS queued"
        " FROM reminders.reminder_deliveries"
    ).fetchone()
    assert row is not None
    sent = row["sent"]
    assert 15 <= sent < row["queued"], "the drain stopped partway"
    # what the run says it delivered is what the receiver accepted and the ledger recorded
    assert outcome["delivery"]["delivered"] == sent == recorder.accepted_total
    assert outcome["delivery"]["retried"] == outcome["delivery"]["dead"] == 0


def test_mentors_registering_contacts_while_the_run_delivers_get_the_counts_it_reports(
    conn: Connection, cli_env: dict[str, str], database_url: str
) -> None:
    """Seeded, randomized: while ``reminders run`` delivers, mentors register contacts (plain
    inserts, as the host app does) for assignments whose messages still wait. What the run says
    it delivered and cancelled is what the receiver got and the queue holds."""
    seed(conn, assignments=200, today=date(2026, 11, 28))
    rng = random.Random(SEED)
    recorder = Recorder(delay=0.02)
    with webhook_receiver(recorder, secret=WEBHOOK_SECRET) as url:
        cli_env.update(
            REMINDERS_WEBHOOK_URL=url,
            REMINDERS_WEBHOOK_SECRET=WEBHOOK_SECRET,
            REMINDERS_DELIVERY_BATCH_SIZE="10",
            REMINDERS_DELIVERY_CONCURRENCY="1",
        )
        run = start_reminders(cli_env, "run", "--now", NOW, "--allow-distant-now", "--json")
        try:
            wait_for(lambda: recorder.accepted_total >= 5, timeout=60)
            with connect(database_url, purpose="mentors") as mentors:
                while run.poll() is None and (waiting := mentors.execute(WAITING).fetchall()):
                    contacted = rng.choice(waiting)["assignment_id"]
                    mentors.execute(CONTACT, (contacted, NOW_AT.date()))
                    time.sleep(rng.uniform(0, 0.05))  # mentors at their own pace
            out, err = run.communicate(timeout=120)
        finally:
            run.kill()
    assert run.returncode == 0, err
    queue = {
        (r["status"], r["cancel_reason"]): r["n"]
        for r in conn.execute(
            "SELECT status, cancel_reason, count(*) AS n FROM reminders.reminder_deliveries"
            " GROUP BY status, cancel_reason"
        ).fetchall()
    }
    sent, closed = queue.pop(("sent", None)), queue.pop(("cancelled", "gap_closed"), 0)
    assert queue == {}, "every message was sent or cancelled"
    assert closed > 0, "the premise: contacts closed gaps whose messages still waited"
    assert json.loads(out)["delivery"] == {
        "delivered": sent,
        "retried": 0,
        "dead": 0,
        "cancelled": closed,
    }
    assert recorder.accepted_total == sent


SEED = 33
WAITING = (
    "SELECT r.assignment_id FROM reminders.reminder_deliveries d"
    " JOIN reminders.reminder_dispatches r ON r.id = d.dispatch_id"
    " WHERE d.status = 'pending' ORDER BY r.assignment_id"
)
CONTACT = "INSERT INTO public.activities (assignment_id, occurred_on) VALUES (%s, %s)"


def test_the_worker_delivers_a_backlog_and_stops_on_sigterm(
    conn: Connection, cli_env: dict[str, str], run_cli: RunCli
) -> None:
    seed(conn, assignments=50, today=date(2026, 11, 28))
    recorder = Recorder()
    with webhook_receiver(recorder, secret=WEBHOOK_SECRET) as url:
        # the run queues webhook deliveries but has no time budget to send them
        cli_env.update(
            REMINDERS_WEBHOOK_URL=url,
            REMINDERS_WEBHOOK_SECRET=WEBHOOK_SECRET,
            REMINDERS_DELIVERY_BUDGET_SECONDS="0",
        )
        assert run_cli("run", "--now", NOW, "--allow-distant-now").returncode == 0
        created = dispatch_count(conn)
        assert recorder.accepted_total == 0
        cli_env.pop("REMINDERS_DELIVERY_BUDGET_SECONDS")
        worker = start_reminders(cli_env, "worker", "--poll-seconds", "0.1")
        try:
            wait_for(lambda: recorder.accepted_total == created, timeout=30)
        finally:
            worker.send_signal(signal.SIGTERM)
            out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert f"worker: {created:,} delivered, 0 failed (to be retried), 0 dead" in out


def test_the_worker_without_channels_says_so(run_cli: RunCli) -> None:
    done = run_cli("worker", "--once")
    assert done.returncode == 0
    assert "no delivery channel is configured" in done.stdout


def test_a_webhook_url_without_a_secret_is_a_one_line_error(
    cli_env: dict[str, str], run_cli: RunCli
) -> None:
    cli_env["REMINDERS_WEBHOOK_URL"] = "http://127.0.0.1:9/hook"
    done = run_cli("worker", "--once")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: REMINDERS_WEBHOOK_URL is set but REMINDERS_WEBHOOK_SECRET is not: webhooks are"
        " signed"
    ]


def test_a_killed_run_keeps_its_batches_and_the_next_run_finishes_without_duplicates(
    database_url: str, conn: Connection, cli_env: dict[str, str], run_cli: RunCli
) -> None:
    seed(conn, assignments=4000, today=date(2026, 11, 28))
    expected = clean_totals(database_url, NOW_AT, ["webhook"])  # one webhook row per dispatch
    cli_env.update(REMINDERS_BATCH_SIZE="8", REMINDERS_WEBHOOK_URL="http://127.0.0.1:9/x")
    cli_env.update(REMINDERS_WEBHOOK_SECRET=WEBHOOK_SECRET, REMINDERS_DELIVERY_BUDGET_SECONDS="0")
    victim = start_reminders(cli_env, "run", "--now", NOW, "--allow-distant-now")
    try:
        wait_for(lambda: dispatch_count(conn) > 0, timeout=60, interval=0.01)
    finally:
        victim.kill()  # SIGKILL: no finally blocks, no clean-up
        victim.communicate(timeout=30)

    def backends_gone() -> bool:
        # a statement in flight may still commit after its client died: wait for the backend
        row = conn.execute(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name LIKE %s",
            (f"assignment-reminders/%:{victim.pid}",),
        ).fetchone()
        return row is not None and row["n"] == 0

    wait_for(backends_gone, timeout=30)
    partial = dispatch_count(conn)
    done = run_cli("run", "--now", NOW, "--allow-distant-now", "--json")
    assert done.returncode == 0, done.stderr
    counts = table_counts(conn)
    # the killed run and the next one together created exactly what one clean run creates
    assert counts == expected
    assert expected["dispatches"] == expected["notifications"] == expected["deliveries"]
    outcome = json.loads(done.stdout)
    made = outcome["counts"]["reminders_created"] + outcome["counts"]["escalations_created"]
    assert outcome["counts"]["duplicates_suppressed"] == 0  # the killed run's left the index
    assert partial + made == counts["dispatches"]
    assert 0 < partial < counts["dispatches"]  # the kill did land mid-run


def test_a_worker_that_loses_its_database_exits_with_one_line(
    conn: Connection, cli_env: dict[str, str]
) -> None:
    cli_env.update(
        REMINDERS_WEBHOOK_URL="http://127.0.0.1:9/x", REMINDERS_WEBHOOK_SECRET=WEBHOOK_SECRET
    )
    worker = start_reminders(cli_env, "worker", "--poll-seconds", "0.1")
    pattern = f"assignment-reminders/worker %:{worker.pid}"

    def terminated() -> bool:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity"
            " WHERE application_name LIKE %s",
            (pattern,),
        ).fetchone()
        return row is not None and row["n"] > 0

    try:
        wait_for(terminated, timeout=30)
        _, err = worker.communicate(timeout=30)
    finally:
        worker.kill()
    assert worker.returncode == 1
    assert err.strip().splitlines()[-1].startswith("error: the worker lost its database (")


def test_a_worker_keeps_its_smtp_connections_bounded_over_many_drains(
    conn: Connection, cli_env: dict[str, str], run_cli: RunCli
) -> None:
    """Issue 10: each drain used to make a new thread pool whose threads' SMTP connections stayed
    open until the worker exited. One pool for the worker's life keeps them to --concurrency."""
    seed(conn, assignments=30, today=date(2026, 11, 28))
    recorder = Recorder()
    concurrency, waves = 3, 12
    with smtp_receiver(recorder) as (host, port):
        cli_env.update(
            REMINDERS_SMTP_HOST=host,
            REMINDERS_SMTP_PORT=str(port),
            REMINDERS_SMTP_TLS="none",
            REMINDERS_DELIVERY_BUDGET_SECONDS="0",
        )
        assert run_cli("run", "--now", NOW, "--allow-distant-now").returncode == 0
        queued = conn.execute(
            "SELECT count(*) AS n FROM reminders.reminder_deliveries WHERE channel = 'email'"
        ).fetchone()
        assert queued is not None and queued["n"] >= 2 * concurrency
        worker = start_reminders(
            cli_env, "worker", "--poll-seconds", "0.05", "--concurrency", str(concurrency)
        )
        try:
            for wave in range(waves):  # each wave is one more drain that sends
                if wave:
                    conn.execute(
                        "UPDATE reminders.reminder_deliveries"
                        " SET status = 'pending', sent_at = NULL, attempts = 0,"
                        " next_attempt_at = now() WHERE channel = 'email'"
                    )
                wait_for(
                    lambda: (
                        conn.execute(
                            "SELECT bool_and(status = 'sent') AS done"
                            " FROM reminders.reminder_deliveries WHERE channel = 'email'"
                        ).fetchone()
                        == {"done": True}
                    ),
                    timeout=30,
                )
            assert recorder.accepted_total == waves * queued["n"]
            assert recorder.open_connections <= concurrency, recorder.open_connections
            assert recorder.peak_connections <= concurrency
        finally:
            worker.send_signal(signal.SIGTERM)
            _, err = worker.communicate(timeout=30)
        assert worker.returncode == 0, err
        wait_for(lambda: recorder.open_connections == 0)  # and the worker closed them at exit


def test_deliveries_shows_cancelled_ones_by_reason(
    conn: Connection, cli_env: dict[str, str], run_cli: RunCli
) -> None:
    """A contact registered after the run queued its reminder: the worker cancels the delivery
    instead of sending it, and ``reminders deliveries`` (and its --json) shows why."""
    seed(conn, assignments=30, today=date(2026, 11, 28))
    recorder = Recorder()
    with webhook_receiver(recorder, secret=WEBHOOK_SECRET) as url:
        cli_env.update(
            REMINDERS_WEBHOOK_URL=url,
            REMINDERS_WEBHOOK_SECRET=WEBHOOK_SECRET,
            REMINDERS_DELIVERY_BUDGET_SECONDS="0",
        )
        assert run_cli("run", "--now", NOW, "--allow-distant-now").returncode == 0
        created = dispatch_count(conn)
        stale = conn.execute(
            "SELECT r.assignment_id FROM reminders.reminder_dispatches r ORDER BY r.id LIMIT 1"
        ).fetchone()
        assert stale is not None
        n = conn.execute(
            "SELECT count(*) AS n FROM reminders.reminder_dispatches WHERE assignment_id = %s",
            (stale["assignment_id"],),
        ).fetchone()
        assert n is not None
        conn.execute(
            "INSERT INTO public.activities (assignment_id, occurred_on) VALUES (%s, %s)",
            (stale["assignment_id"], date(2026, 11, 28)),
        )
        done = run_cli("worker", "--once")
    assert done.returncode == 0, done.stderr
    delivered = created - n["n"]
    assert (
        f"worker: {delivered:,} delivered, 0 failed (to be retried), 0 dead, {n['n']} cancelled"
        in done.stdout
    )
    assert recorder.accepted_total == created - n["n"]
    listed = run_cli("deliveries", "--json")
    assert listed.returncode == 0, listed.stderr
    settled = {"due_now": None, "next_due_at": None}  # only open deliveries come due
    assert sorted(json.loads(listed.stdout), key=lambda r: r["status"]) == [
        {"channel": "webhook", "status": "cancelled", "reason": "gap_closed", "n": n["n"]}
        | settled,
        {"channel": "webhook", "status": "sent", "reason": None, "n": created - n["n"]} | settled,
    ]
    table = run_cli("deliveries").stdout.splitlines()
    assert table[0].split() == ["channel", "status", "reason", "count", "due", "now", "next", "due"]
    assert table[2].split() == ["webhook", "cancelled", "gap_closed", str(n["n"]), "-", "-"]


def test_deliveries_says_when_the_waiting_ones_come_due(
    conn: Connection, cli_env: dict[str, str], run_cli: RunCli
) -> None:
    """A run for tomorrow's `now` queues deliveries a worker may not take before then: the
    queue says none is due now and when they are, so an idle worker is explained."""
    seed(conn, assignments=30, today=date(2026, 11, 28))
    tomorrow = conn.execute("SELECT date_trunc('second', now()) + interval '23 hours' AS t")
    at = tomorrow.fetchone()
    assert at is not None
    cli_env.update(
        REMINDERS_WEBHOOK_URL="http://127.0.0.1:9/hook",  # never reached: nothing is due
        REMINDERS_WEBHOOK_SECRET=WEBHOOK_SECRET,
        REMINDERS_DELIVERY_BUDGET_SECONDS="0",
    )
    assert run_cli("run", "--now", at["t"].isoformat()).returncode == 0
    queued = conn.execute("SELECT count(*) AS n FROM reminders.reminder_deliveries").fetchone()
    assert queued is not None and queued["n"] > 0
    done = run_cli("worker", "--once")
    assert "worker: 0 delivered, 0 failed (to be retried), 0 dead, 0 cancelled" in done.stdout
    listed = run_cli("deliveries", "--json")
    assert json.loads(listed.stdout) == [
        {
            "channel": "webhook",
            "status": "pending",
            "reason": None,
            "n": queued["n"],
            "due_now": 0,
            "next_due_at": at["t"].isoformat(),
        }
    ]
    # the same deliveries made due: the queue counts them as due now
    conn.execute("UPDATE reminders.reminder_deliveries SET next_attempt_at = now()")
    again = json.loads(run_cli("deliveries", "--json").stdout)
    assert (again[0]["due_now"], again[0]["next_due_at"]) == (queued["n"], None)
    # a receiver that refuses them: the worker says they failed and wait for their retry
    failed = run_cli("worker", "--once")
    assert (
        f"worker: 0 delivered, {queued['n']:,} failed (to be retried), 0 dead, 0 cancelled"
        in failed.stdout
    ), failed.stderr
    retry = json.loads(run_cli("deliveries", "--json").stdout)[0]
    assert retry["due_now"] == 0
    assert datetime.fromisoformat(retry["next_due_at"]) > datetime.now(UTC)
