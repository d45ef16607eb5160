"""``reminders doctor``: the deployment checks of doctor.py as a pass/fail table."""

from __future__ import annotations

import sys
from dataclasses import asdict

import click

from ..figures import counted
from .options import Context, echo_json, echo_text, json_option, pass_context, terminal


@click.command()
@json_option("the checks")
@pass_context
def doctor(ctx: Context, as_json: bool) -> None:
    """Check the database, the lock setup and delivery settings; exit 1 if any check fails.

    Checks: the lock connection is a real session (or REMINDERS_LOCK_SCOPE fits the pooler),
    migrations are current, the lock wrappers are executable by service_role only, the lock key
    is registered to this job alone, server timeouts, clock skew between this host and the
    database, the SMTP server (REMINDERS_SMTP_HOST, REMINDERS_SMTP_PORT) and
    REMINDERS_WEBHOOK_URL reachable, and the project's signing keys readable from
    SUPABASE_URL (each when set).
    """
    from ..monitoring.doctor import render_checks, run_checks

    checks = run_checks(ctx.settings)
    if as_json:
        echo_json([asdict(c) for c in checks])
    else:
        term = terminal()
        echo_text(render_checks(checks, width=term.width, colour=term.colour), term)
    failures = [c.name for c in checks if c.failed]
    if failures:
        click.echo(f"{counted(len(failures), 'check')} failed: {', '.join(failures)}", err=True)
        sys.exit(1)
