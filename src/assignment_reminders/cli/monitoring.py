"""``reminders check``: every monitoring check once, for cron, an external monitor or a probe."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from .options import Context, echo_json, json_option, now_option, pass_context

CHECK_FOUND_PROBLEM = 3
"""Exit code of ``check`` when it found something wrong: 0 ok, 1 failure, 2 usage (click)."""


@click.command()
@json_option("findings and open alerts")
@now_option(
    "Judge the execution log as of this ISO 8601 moment (with offset). Default: now. With"
    " --now nothing is recorded or sent unless --record is given."
)
@click.option(
    "--record/--dry-run",
    "record",
    default=None,
    help="Record: open, resolve and send incidents. Dry run: only compute and print them."
    "  [default: --record without --now, --dry-run with --now]",
)
@pass_context
def check(ctx: Context, as_json: bool, now: datetime | None, record: bool | None) -> None:
    """Run every monitoring check once: overrun, missed run, stuck lock, failure, unlock,
    overlapping runs.

    New incidents are alerted (log, webhook, email) and cleared ones recovered, once each
    however many replicas check. With --now (judging another moment) it is a dry run unless
    --record is given: the findings are computed and printed, and nothing is opened, resolved
    or sent. Exits 0 when all is well, 3 when something is wrong (1: could not check, 2: usage
    error).
    Environment: REMINDERS_OVERRUN_AFTER_SECONDS (1800), REMINDERS_MISSED_GRACE_SECONDS (1800:
    after the schedule's next expected run), REMINDERS_MISSED_AFTER_SECONDS (unset: a fixed limit
    instead), REMINDERS_STUCK_AFTER_SKIPS (3), REMINDERS_ALERT_WEBHOOK_URL with
    REMINDERS_ALERT_WEBHOOK_SECRET (Standard Webhooks signing), REMINDERS_ALERT_EMAIL_TO
    (comma-separated; sent through the REMINDERS_SMTP_* server that reminder email uses).
    """
    from ..monitoring.monitor import check_once_for

    recording = record if record is not None else now is None
    moment = now or datetime.now(UTC)
    result = check_once_for(ctx.settings, now=moment, record=recording, with_open=as_json)
    if as_json:
        echo_json(
            {
                "healthy": result.healthy,
                "recorded": result.recorded,
                "state": result.truth.headline.to_dict(),
                "findings": [
                    {"kind": f.kind, "subject": f.subject, "message": f.message}
                    for f in result.findings
                ],
                "open_alerts": [a.to_dict() for a in result.open or []],
            }
        )
    else:
        if result.healthy:
            click.echo("ok: no open alerts")
        else:
            for f in result.findings:
                click.echo(f"{f.kind}: {f.message}")
        if not result.recorded:
            click.echo("dry run: nothing was opened, resolved or sent (--record to record)")
    if not result.healthy:
        sys.exit(CHECK_FOUND_PROBLEM)
