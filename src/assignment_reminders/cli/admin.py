"""``reminders admin ...``: operator commands (correcting last_contact_date)."""

from __future__ import annotations

import getpass
import socket
from dataclasses import asdict
from datetime import UTC, datetime

import click

from ..db.database import connect, database_url
from ..db.gateway import transaction
from ..limits import REASON_MAX_LENGTH
from .options import (
    Context,
    Text,
    WholeNumber,
    echo_json,
    echo_text,
    json_option,
    now_option,
    pass_context,
    terminal,
)


@click.group()
def admin() -> None:
    """Operator commands: correct an assignment's last_contact_date and read its history."""


@admin.command("set-last-contact")
@click.argument("assignment_id", type=WholeNumber(min=1, max=2**63 - 1))
@click.argument("date", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="DATE")
@click.option(
    "--reason",
    required=True,
    type=Text(max_length=REASON_MAX_LENGTH, blank=False),
    help="Why the date is corrected (kept in the audit;"
    f" at most {REASON_MAX_LENGTH:,} characters).",
)
@now_option("Check 'not in the future' as of this ISO 8601 moment (with offset). Default: now.")
@json_option("the correction")
@pass_context
def set_last_contact(
    ctx: Context,
    *,
    assignment_id: int,
    date: datetime,
    reason: str,
    now: datetime | None,
    as_json: bool,
) -> None:
    """Set ASSIGNMENT_ID's last_contact_date to DATE (YYYY-MM-DD), audited.

    Refused when DATE is in the future in the organization's time zone or before the assignment
    started. The date holds until an activity registered later carries a later date.
    """
    from ..corrections import Actor
    from ..corrections import set_last_contact as correct

    moment = now or datetime.now(UTC)
    actor = Actor(user_id=None, role="operator", name=f"{getpass.getuser()}@{socket.gethostname()}")
    with (
        connect(database_url(ctx.settings), purpose="admin") as conn,
        transaction(conn, "the correction"),
    ):
        done = correct(conn, assignment_id, date.date(), reason, actor=actor, now=moment)
    if as_json:
        echo_json(asdict(done))
        return
    if done.old_date == done.new_date:  # recorded all the same: the audit keeps every decision
        said = f"stays {done.new_date} (correction {done.id} recorded; the date did not change)"
    else:
        said = f"{done.old_date or '-'} -> {done.new_date} (correction {done.id})"
    click.echo(f"assignment {done.assignment_id}: last_contact_date {said}")


@admin.command("last-contact-history")
@click.argument("assignment_id", type=WholeNumber(min=1, max=2**63 - 1))
@json_option("the corrections")
@pass_context
def last_contact_history(ctx: Context, assignment_id: int, as_json: bool) -> None:
    """Every correction of ASSIGNMENT_ID's last_contact_date, newest first."""
    from ..corrections import history
    from ..tables import render

    with connect(database_url(ctx.settings), purpose="admin") as conn:
        rows = history(conn, assignment_id)
    if as_json:
        echo_json([asdict(r) for r in rows])
        return
    term = terminal()
    table = [
        {**asdict(r), "by": r.changed_by_name or r.changed_by or r.changed_by_role} for r in rows
    ]
    columns = [
        ("changed_at", "changed at"),
        ("old_date", "old"),
        ("new_date", "new"),
        ("by", "by"),
        ("reason", "reason"),
    ]
    echo_text(render(table, columns, width=term.width, colour=term.colour), term)
