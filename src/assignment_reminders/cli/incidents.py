"""``reminders incidents ...`` and ``reminders maintenance ...``: acknowledging incidents and
muting alerts for a while (docs/monitoring.md, "Acknowledging and muting")."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from ..db.database import connect, database_url
from ..monitoring.incidents import (
    NAME_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    REASON_MAX_LENGTH,
    Window,
)
from .options import (
    AwareDateTime,
    Context,
    Text,
    WholeNumber,
    echo_json,
    json_option,
    now_option,
    pass_context,
)

ID = WholeNumber(min=1, max=2**63 - 1)
BY = click.option(
    "--by",
    "by",
    required=True,
    type=Text(max_length=NAME_MAX_LENGTH, blank=False),
    help="Who does it (kept with the record and logged).",
)


@click.group()
def incidents() -> None:
    """List the job's incidents and acknowledge them."""


@incidents.command("list")
@json_option("the state and the incidents")
@now_option("Judge as of this ISO 8601 moment (with offset). Default: now. Records nothing.")
@pass_context
def list_incidents(ctx: Context, as_json: bool, now: datetime | None) -> None:
    """The job's state and its incidents that are not resolved: open ones (with their id, for
    `ack`), new ones no check has recorded yet, and clearing ones (found gone, resolved at the
    next check). The same evaluation as /ops and `reminders status`; nothing is written."""
    from ..monitoring.monitor import read_truth

    moment = now or datetime.now(UTC)
    with connect(database_url(ctx.settings), purpose="incidents") as conn:
        _, truth = read_truth(conn, ctx.settings, now=moment)
    if as_json:
        echo_json(
            {
                "state": truth.headline.to_dict(),
                "incidents": [i.to_dict() for i in truth.current],
            }
        )
        return
    click.echo(f"state: {truth.headline.state.upper()}: {truth.headline.why}")
    for i in truth.current:
        ident = f"#{i.id} {i.state.value}" if i.id is not None else "new"
        extra = (
            f" [acknowledged by {i.alert.acknowledged_by}]"
            if i.alert and i.alert.acknowledged_by
            else ""
        )
        click.echo(f"{ident} {i.kind}: {i.message}{extra}")


@incidents.command("ack")
@click.argument("incident_id", metavar="ID", type=ID)
@BY
@click.option(
    "--note",
    type=Text(max_length=NOTE_MAX_LENGTH),
    default=None,
    help=f"What is being done (at most {NOTE_MAX_LENGTH:,} characters).",
)
@json_option("the acknowledged incident")
@pass_context
def ack(ctx: Context, incident_id: int, by: str, note: str | None, as_json: bool) -> None:
    """Acknowledge incident ID: someone is on it. Once per incident (a second ack is refused
    and names the first); the incident still resolves when its finding goes away."""
    from ..monitoring.incidents import acknowledge

    with connect(database_url(ctx.settings), purpose="incidents") as conn:
        alert = acknowledge(
            conn, ctx.settings.job_name, incident_id, by=by, note=note, now=datetime.now(UTC)
        )
    if as_json:
        echo_json(alert.to_dict())
    else:
        click.echo(f"incident {alert.id} ({alert.kind}) acknowledged by {alert.acknowledged_by}")


@click.group()
def maintenance() -> None:
    """Maintenance windows: alerts opened or resolved in one are recorded, not sent."""


@maintenance.command("open")
@click.option(
    "--start",
    type=AwareDateTime(),
    default=None,
    help="When the window starts (ISO 8601 with offset). Default: now.",
)
@click.option(
    "--end", type=AwareDateTime(), required=True, help="When it ends (ISO 8601 with offset)."
)
@click.option(
    "--reason",
    required=True,
    type=Text(max_length=REASON_MAX_LENGTH, blank=False),
    help=f"Why (at most {REASON_MAX_LENGTH} characters).",
)
@BY
@json_option("the window")
@pass_context
def open_command(
    ctx: Context,
    *,
    start: datetime | None,
    end: datetime,
    reason: str,
    by: str,
    as_json: bool,
) -> None:
    """Open a maintenance window from --start to --end: incidents are still opened and
    resolved (and shown), the log says each was muted, the webhook and email are not sent."""
    from ..monitoring.incidents import check_window, open_window

    now = datetime.now(UTC)
    check_window(start or now, end, now=now)  # before the database is opened
    with connect(database_url(ctx.settings), purpose="maintenance") as conn:
        window = open_window(
            conn,
            ctx.settings.job_name,
            starts_at=start or now,
            ends_at=end,
            reason=reason,
            by=by,
            now=now,
        )
    if as_json:
        echo_json(window.to_dict(now))
    else:
        click.echo(
            f"maintenance window {window.id}: {window.starts_at.isoformat()} to"
            f" {window.ends_at.isoformat()} ({window.reason})"
        )


@maintenance.command("close")
@click.argument("window_id", metavar="ID", type=ID)
@BY
@json_option("the window")
@pass_context
def close_command(ctx: Context, window_id: int, by: str, as_json: bool) -> None:
    """Close maintenance window ID now: alerts are sent again."""
    from ..monitoring.incidents import close_window

    now = datetime.now(UTC)
    with connect(database_url(ctx.settings), purpose="maintenance") as conn:
        window = close_window(conn, ctx.settings.job_name, window_id, by=by, now=now)
    if as_json:
        echo_json(window.to_dict(now))
    else:
        click.echo(f"maintenance window {window.id} closed by {window.closed_by}")


@maintenance.command("list")
@click.option("--all", "everything", is_flag=True, help="Past and closed windows too.")
@json_option("the windows")
@pass_context
def list_command(ctx: Context, everything: bool, as_json: bool) -> None:
    """The maintenance windows that are not over (all of them with --all), soonest first."""
    from ..monitoring.incidents import list_windows

    now = datetime.now(UTC)
    with connect(database_url(ctx.settings), purpose="maintenance") as conn:
        windows = list_windows(conn, ctx.settings.job_name, now=now, everything=everything)
    if as_json:
        echo_json([w.to_dict(now) for w in windows])
        return
    if not windows:
        click.echo("no maintenance windows")
    for w in windows:
        click.echo(
            f"{w.id} {_window_state(w, now)} {w.starts_at.isoformat()} to {w.ends_at.isoformat()}"
            f" by {w.opened_by}: {w.reason}"
        )


def _window_state(w: Window, now: datetime) -> str:
    if w.active(now):
        return "active"
    if w.closed_at is not None:
        return "closed"
    return "over" if w.ends_at <= now else "planned"
