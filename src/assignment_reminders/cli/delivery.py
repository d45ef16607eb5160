"""``reminders worker`` and ``reminders deliveries``: the delivery queue from the command line."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from dataclasses import asdict, replace
from types import FrameType

import click

from ..db.gateway import fetch_all, named
from ..delivery.states import DeliveryCount, DrainResult
from .options import (
    Context,
    Seconds,
    echo_json,
    echo_text,
    env_help,
    json_option,
    pass_context,
    setting_option,
    terminal,
)

logger = logging.getLogger(__name__)

DELIVERY_ENV_HELP = (
    "Channels and retries come from the environment (a channel without settings is skipped). "
    + env_help("smtp", "delivery")
)

_DELIVERY_COUNTS = named("delivery_counts")
IDLE_CHECK_SECONDS = 60.0  # how often an idle worker wakes to see whether it was told to stop


@contextlib.contextmanager
def _database_errors() -> Iterator[None]:
    """A dropped connection or a failed statement ends the worker with one line, exit 1;
    its claimed deliveries are claimed again when their lease runs out."""
    import psycopg

    from ..exceptions import DatabaseError

    try:
        yield
    except (psycopg.Error, DatabaseError) as exc:  # raw (a commit) or wrapped by the gateway
        cause = exc.__cause__ if isinstance(exc, DatabaseError) and exc.__cause__ else exc
        raise DatabaseError(
            "the worker lost its database (connection or statement failed)"
        ) from cause


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        logger.info("signal %d: finishing the claimed batches, then stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _idle(stop: threading.Event) -> None:
    """No channel: say so once and stay up until stopped (a container restarted in a loop
    helps nobody). The environment is fixed for the process's life: a channel needs a restart."""
    logger.warning(
        "worker: no delivery channel is configured (set REMINDERS_SMTP_HOST or"
        " REMINDERS_WEBHOOK_URL and restart); idling until stopped"
    )
    while not stop.wait(IDLE_CHECK_SECONDS):
        pass


@click.command(
    help="Deliver reminders by email and webhook until stopped. Several workers, on one machine"
    " or many, share the queue (FOR UPDATE SKIP LOCKED). Without any channel it logs that once"
    " and idles until stopped (--once: says so and exits 0).\n\n" + DELIVERY_ENV_HELP
)
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option(
    "--poll-seconds",
    type=Seconds(0.05, 3600),
    default=2.0,
    show_default=True,
    help="How long to wait when nothing is due.",
)
@setting_option("--concurrency", path="delivery.concurrency")
@setting_option("--batch-size", path="delivery.batch_size")
@json_option("the summary at exit")
@pass_context
def worker(
    ctx: Context,
    *,
    once: bool,
    poll_seconds: float,
    concurrency: int,
    batch_size: int,
    as_json: bool,
) -> None:
    from ..db.database import connect, database_url
    from ..delivery.channels import build_channels
    from ..delivery.runner import close_all, delivery_drain

    delivery = replace(ctx.settings.delivery, concurrency=concurrency, batch_size=batch_size)
    settings = replace(ctx.settings, delivery=delivery)
    channels = build_channels(settings)
    stop = threading.Event()
    if not channels:
        if not once:
            _stop_on_signals(stop)
            _idle(stop)
        if as_json:
            _report([], DrainResult(), as_json=True)
        elif once:
            click.echo("worker: no delivery channel is configured; nothing to do")
        else:
            click.echo("worker: stopped; no delivery channel was configured")
        return
    _stop_on_signals(stop)
    total = DrainResult()
    try:
        with (
            connect(database_url(settings), purpose="worker") as conn,
            _database_errors(),
            delivery_drain(settings, conn, channels) as service,  # one sending pool for life
        ):
            logger.info("worker %s delivering on %s", service.worker, ", ".join(channels))
            while not stop.is_set():
                result = service.drain(stop=stop.is_set)
                total.merge(result)
                if once:
                    break
                if result.claimed == result.cancelled == 0:
                    stop.wait(poll_seconds)
    finally:
        close_all(channels)
    _report(sorted(channels), total, as_json=as_json)


def _report(channels: list[str], total: DrainResult, *, as_json: bool) -> None:
    """The worker's last line, or its ``--json``: what its drains did, all told."""
    if as_json:
        echo_json({"channels": channels, **total.to_dict()})
        return
    click.echo(f"worker: {total.summary()}")


@click.command()
@json_option("the counts")
@pass_context
def deliveries(ctx: Context, as_json: bool) -> None:
    """Show the delivery queue: how many deliveries per channel and status, cancelled ones
    also by reason (gap_closed, assignment_paused, assignment_ended); of the open ones (pending,
    sending) how many a worker would take now and when the next of the others comes due."""
    from ..clock import utc_now
    from ..db.database import connect, database_url
    from ..tables import render

    with connect(database_url(ctx.settings), purpose="deliveries") as conn:
        counts = fetch_all(conn, _DELIVERY_COUNTS, {"now": utc_now()}, row=DeliveryCount)
    rows = [asdict(r) for r in counts]
    if as_json:
        echo_json(rows)
    else:
        term = terminal()
        columns = [("channel", "channel"), ("status", "status"), ("reason", "reason")]
        columns += [("n", "count"), ("due_now", "due now"), ("next_due_at", "next due")]
        table = render(rows, columns, width=term.width, colour=term.colour)
        echo_text(table, term)


@click.command("webhook-secret")
def webhook_secret() -> None:
    """Print a new random Standard Webhooks secret (whsec_...) for REMINDERS_WEBHOOK_SECRET;
    give the receiver the same value."""
    from ..delivery.signing import new_secret

    click.echo(new_secret())
