"""The ``reminders`` command. One error boundary: a one-line message and a non-zero exit."""

from __future__ import annotations

import json
import logging
import signal
import sys
import traceback
from datetime import UTC, date, datetime
from types import FrameType
from typing import Any

import click
import psycopg

from . import __version__
from .config import Settings
from .database import connect, database_url, fault
from .exceptions import ReminderError

logger = logging.getLogger("assignment_reminders")

ENV_HELP = (
    "Environment: DATABASE_URL (libpq URI or key=value string; unset = the embedded PostgreSQL),"
    " REMINDERS_DATA_DIR (embedded data directory), REMINDERS_BATCH_SIZE (assignments per"
    " transaction, default 20000), REMINDERS_JWT_SECRET or SUPABASE_JWT_SECRET (HS256 secret for"
    " `serve`), REMINDERS_LOG_LEVEL (default INFO). Locking (docs/locking.md): REMINDERS_LOCK_SCOPE"
    " (session|transaction, default session), REMINDERS_LOCK_DATABASE_URL (lock connection; default"
    " DATABASE_URL), REMINDERS_LOCK_HEARTBEAT_SECONDS (default 5),"
    " REMINDERS_LOCK_IDLE_TIMEOUT_SECONDS (a hung holder loses the lock after this; default 30)."
)


class Context:
    def __init__(self, settings: Settings, debug: bool) -> None:
        self.settings = settings
        self.debug = debug


pass_context = click.make_pass_decorator(Context)


def _aware(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"not an ISO 8601 date-time: {value!r}", param_hint=option
        ) from None
    if parsed.tzinfo is None:
        raise click.BadParameter(
            "needs a UTC offset or Z, e.g. 2026-11-28T06:00:00+01:00", param_hint=option
        )
    return parsed


@click.group(help=f"Exactly-once contact reminders for peer-mentoring programmes.\n\n{ENV_HELP}")
@click.version_option(__version__, prog_name="reminders")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.option(
    "--log-level",
    envvar="REMINDERS_LOG_LEVEL",
    show_envvar=True,
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, log_level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    ctx.obj = Context(Settings.from_env(), debug)


@cli.command()
@pass_context
def migrate(ctx: Context) -> None:
    """Apply pending migrations (supabase/migrations/*.sql), each in its own transaction."""
    from .migrations import migrate as apply

    with connect(database_url(ctx.settings), purpose="migrate") as conn:
        done = apply(conn)
    if done:
        for m in done:
            click.echo(f"applied {m.version}_{m.name}")
    else:
        click.echo("migrations: up to date")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@click.option(
    "--now",
    metavar="DATETIME",
    help="Compute reminders as of this ISO 8601 moment (with offset). Default: the current time.",
)
@click.option(
    "--hold-seconds",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    help="Keep the lock this long after the work (drills and demos: a run that overlaps the next)."
    " Ends early, as a failure, if the lock is lost meanwhile.",
)
@click.option(
    "--pause-between-batches",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    metavar="SECONDS",
    help="Drills: wait this long before each batch after the first, watching the lock.",
)
@pass_context
def run(
    ctx: Context,
    as_json: bool,
    now: str | None,
    hold_seconds: float,
    pause_between_batches: float,
) -> None:
    """Run the reminder job once, as a scheduler would.

    Exits 0 when the run succeeded or was skipped because another run holds the lock,
    1 when it failed.
    """
    from .trigger import run_once

    _terminate_gracefully()
    outcome = run_once(
        ctx.settings,
        now=_aware(now, "--now"),
        trigger_source="cli",
        hold_seconds=hold_seconds,
        pause_between_batches=pause_between_batches,
    )
    if as_json:
        click.echo(json.dumps(outcome.to_dict(), default=str))
    else:
        c = outcome.counts
        click.echo(
            f"{outcome.status}"
            + (f" ({outcome.note})" if outcome.note else "")
            + f": run {outcome.run_id}, {c.assignments_scanned} assignments scanned,"
            f" {c.reminders_created} reminders, {c.escalations_created} escalations,"
            f" {c.duplicates_suppressed} already sent, lock {outcome.lock_acquire_ms:.1f} ms"
            + (f"\nerror: {outcome.error}" if outcome.error else "")
        )
    if not outcome.ok:
        sys.exit(1)


@cli.command()
@click.option("--assignments", type=click.IntRange(min=1), default=2000, show_default=True)
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The date the data is relative to. Default: today (UTC).",
)
@click.option("--random-seed", type=int, default=1, show_default=True)
@pass_context
def seed(ctx: Context, assignments: int, today: datetime | None, random_seed: int) -> None:
    """Add realistic synthetic organizations, mentors, contacts and assignments (COPY)."""
    import time

    from .seed import seed as run_seed

    day: date = today.date() if today else datetime.now(UTC).date()
    started = time.perf_counter()
    with connect(database_url(ctx.settings), purpose="seed") as conn:
        result = run_seed(conn, assignments=assignments, today=day, random_seed=random_seed)
    click.echo(
        f"seeded {result.assignments} assignments, {result.peer_mentors} peer mentors,"
        f" {result.coordinators} coordinators, {result.organizations} organization(s)"
        f" in {time.perf_counter() - started:.1f} s"
    )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@pass_context
def status(ctx: Context, as_json: bool, limit: int) -> None:
    """Show recent runs, who holds the job's lock now, and open monitoring alerts."""
    from .clock import utc_now
    from .status import read_status

    with connect(database_url(ctx.settings), purpose="status") as conn:
        current = read_status(conn, ctx.settings.job_name, now=utc_now(), limit=limit)
    click.echo(json.dumps(current.to_dict()) if as_json else current.render())


@cli.command()
@click.option(
    "--host", envvar="REMINDERS_HTTP_HOST", show_envvar=True, default="127.0.0.1", show_default=True
)
@click.option(
    "--port",
    envvar="REMINDERS_HTTP_PORT",
    show_envvar=True,
    type=int,
    default=8000,
    show_default=True,
)
@click.option(
    "--schedule",
    envvar="REMINDERS_SCHEDULE",
    show_envvar=True,
    default="0 6 * * *",
    show_default=True,
    help="Cron expression (5 fields) for the built-in scheduler.",
)
@click.option(
    "--time-zone",
    envvar="REMINDERS_SCHEDULE_TZ",
    show_envvar=True,
    default="Europe/Oslo",
    show_default=True,
    help="IANA time zone the schedule is read in.",
)
@click.option(
    "--scheduler/--no-scheduler",
    envvar="REMINDERS_SCHEDULER",
    show_envvar=True,
    default=True,
    show_default=True,
    help="Run the job on --schedule and the monitoring checks in this process.",
)
@click.option(
    "--allow-open-ops",
    envvar="REMINDERS_ALLOW_OPEN_OPS",
    show_envvar=True,
    is_flag=True,
    help="Listen on a non-loopback --host although REMINDERS_OPS_TOKEN is unset, leaving /ops"
    " and /metrics open (behind a proxy that authenticates, say).",
)
@pass_context
def serve(
    ctx: Context,
    *,
    host: str,
    port: int,
    schedule: str,
    time_zone: str,
    scheduler: bool,
    allow_open_ops: bool,
) -> None:
    """Serve the HTTP API and run the job on its schedule.

    Endpoints: POST /functions/v1/assignment-reminder-cron, /health, /ready, /metrics, /ops.
    Unless --no-scheduler, the job also runs on --schedule and the monitoring checks run every
    REMINDERS_CHECK_INTERVAL_SECONDS (60). With REMINDERS_OPS_TOKEN set, /ops and /metrics need it
    as a bearer token; without it, serve only listens on a loopback address (or --allow-open-ops).
    """
    import uvicorn

    from .api import create_app
    from .api.ops_auth import is_loopback
    from .exceptions import ConfigurationError
    from .monitoring.service import start_background

    if ctx.settings.ops_token is None and not is_loopback(host) and not allow_open_ops:
        raise ConfigurationError(
            f"refusing to serve /ops and /metrics without credentials on {host}: set"
            " REMINDERS_OPS_TOKEN (or pass --allow-open-ops / REMINDERS_ALLOW_OPEN_OPS=true)"
        )
    if not ctx.settings.auth.verifies_user_tokens:
        logger.warning(
            "neither SUPABASE_URL nor REMINDERS_JWT_SECRET is set: user endpoints answer 401"
        )
    background = start_background(ctx.settings, schedule, time_zone) if scheduler else None
    try:
        uvicorn.run(create_app(ctx.settings), host=host, port=port, log_level="info")
    finally:
        if background is not None:
            background.stop()


@cli.group()
def embedded() -> None:
    """Manage the embedded PostgreSQL (used when DATABASE_URL is unset)."""


@embedded.command("status")
@pass_context
def embedded_status(ctx: Context) -> None:
    """Say whether the embedded server is running, and where."""
    from .embedded import embedded_server_running

    state = "running" if embedded_server_running(ctx.settings.data_dir) else "stopped"
    click.echo(f"embedded PostgreSQL in {ctx.settings.data_dir}: {state}")


@embedded.command("url")
@pass_context
def embedded_url(ctx: Context) -> None:
    """Start the embedded server if needed and print its connection URI (for psql)."""
    from .embedded import embedded_database_url

    click.echo(embedded_database_url(ctx.settings.data_dir))


@embedded.command("stop")
@pass_context
def embedded_stop(ctx: Context) -> None:
    """Stop the embedded server (the next command starts it again)."""
    from .embedded import stop_embedded_database

    stopped = stop_embedded_database(ctx.settings.data_dir)
    click.echo("stopped" if stopped else "not running")


def _terminate_gracefully() -> None:
    """Turn SIGTERM into SystemExit so ``finally`` blocks (the lock release) run."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def _command(args: list[str]) -> str:
    """```reminders <command>``` for a message: the first word that is a command."""
    words = [a for a in args if a in cli.commands][:1]
    return f"`reminders {words[0]}`" if words else "`reminders`"


def main(argv: list[str] | None = None) -> Any:
    try:
        return cli.main(args=argv, prog_name="reminders", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (ReminderError, psycopg.Error) as raised:
        # One error boundary: a database fault anywhere (server stopped or restarted, session
        # terminated, dead network) ends here as one line and exit 1, like every other error.
        args = argv if argv is not None else sys.argv[1:]
        if "--debug" in args:
            traceback.print_exc()
        error = raised if isinstance(raised, ReminderError) else fault(raised, _command(args))
        cause = error.__cause__ or (raised if raised is not error else None)
        detail = f" (caused by {type(cause).__name__})" if cause is not None else ""
        click.echo(f"error: {error.message}{detail}", err=True)
        sys.exit(1)


from . import cli_admin, cli_delivery, cli_doctor, cli_monitoring  # noqa: E402, F401
