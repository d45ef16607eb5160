"""``reminders check``: every monitoring check once, for cron, an external monitor or a probe."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import click

from .options import Context, json_option, now_option, pass_context

CHECK_FOUND_PROBLEM = 3
"""Exit code of ``check`` when it found something wrong: 0 ok, 1 failure, 2 usage (click)."""


@click.command()
@json_option("findings and open alerts")
@now_option("Judge the execution log as of this ISO 8601 moment (with offset). Default: now.")
@pass_context
def check(ctx: Context, as_json: bool, now: datetime | None) -> None:
    """Run every monitoring check once: overrun, missed run, stuck lock, failure, unlock.

    New incidents are alerted (log, webhook, email) and cleared ones recovered, once each
    however many replicas check. Exits 0 when all is well, 3 when something is wrong
    (1: could not check, 2: usage error).
    Environment: REMINDERS_OVERRUN_AFTER_SECONDS (1800), REMINDERS_MISSED_AFTER_SECONDS (93600),
    REMINDERS_STUCK_AFTER_SKIPS (3), REMINDERS_ALERT_WEBHOOK_URL with
    REMINDERS_ALERT_WEBHOOK_SECRET (Standard Webhooks signing), REMINDERS_ALERT_EMAIL_TO
    (comma-separated; sent through the REMINDERS_SMTP_* server that reminder email uses).
    """
    from ..monitoring.monitor import check_once_for

    moment = now or datetime.now(UTC)
    result = check_once_for(ctx.settings, now=moment)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "healthy": result.healthy,
                    "findings": [
                        {"kind": f.kind, "subject": f.subject, "message": f.message}
                        for f in result.findings
                    ],
                    "open_alerts": [a.to_dict() for a in result.open],
                }
            )
        )
    elif result.healthy:
        click.echo("ok: no open alerts")
    else:
        for f in result.findings:
            click.echo(f"{f.kind}: {f.message}")
    if not result.healthy:
        sys.exit(CHECK_FOUND_PROBLEM)
