"""The job's own commands: ``migrate``, ``run``, ``seed`` and ``status``."""

from __future__ import annotations

import signal
import sys
import time
from dataclasses import asdict
from datetime import UTC, date, datetime
from types import FrameType
from typing import TYPE_CHECKING

import click

from ..db.database import connect, database_url
from ..figures import counted
from ..job.run_status import RunStatus
from ..limits import MAX_NOW_DISTANCE_TEXT
from .options import (
    Context,
    Seconds,
    WholeNumber,
    echo_json,
    echo_text,
    json_option,
    now_option,
    pass_context,
    terminal,
)

if TYPE_CHECKING:
    from ..dev.seed import SeedResult
    from ..job.trigger import RunOutcome


@click.command()
@json_option("the migrations applied")
@click.option("--verbose", "-v", is_flag=True, help="Name each migration applied.")
@pass_context
def migrate(ctx: Context, as_json: bool, verbose: bool) -> None:
    """Apply pending migrations (supabase/migrations/*.sql), each in its own transaction.

    First a pre-flight: when objects the pending files would create already exist (a table of
    your own named like one of ours), nothing is applied and one line names them all.
    Prints one line ('applied 1 migration: NAME', 'applied N migrations: FIRST to LAST', or
    'migrations: up to date'), a line per migration with --verbose, all of them with --json.
    """
    from ..db.migrations import applied_summary
    from ..db.migrations import migrate as apply

    with connect(database_url(ctx.settings), purpose="migrate") as conn:
        done = apply(conn)
    if as_json:
        echo_json({"applied": [f"{m.version}_{m.name}" for m in done], "count": len(done)})
        return
    if verbose:
        for m in done:
            click.echo(f"applied {m.version}_{m.name}")
    click.echo(applied_summary(done))


@click.command()
@json_option("the outcome")
@now_option(
    "Compute reminders as of this ISO 8601 moment (with offset). Default: the current time."
    f" More than {MAX_NOW_DISTANCE_TEXT} from the database's clock, either way, is refused"
    " (nothing runs) unless --allow-distant-now."
)
@click.option(
    "--allow-distant-now",
    is_flag=True,
    help=f"Say that a --now more than {MAX_NOW_DISTANCE_TEXT} from the database's clock is"
    " meant (drills, back-fills, simulations).",
)
@click.option(
    "--hold-seconds",
    type=Seconds(0, 24 * 3600),
    default=0,
    show_default=True,
    help="Keep the lock this long after the work (drills and demos: a run that overlaps the next)."
    " Ends early, as a failure, if the lock is lost meanwhile.",
)
@click.option(
    "--pause-between-batches",
    type=Seconds(0, 3600),
    default=0,
    show_default=True,
    help="Drills: wait this long before each batch after the first, watching the lock.",
)
@pass_context
def run(
    ctx: Context,
    *,
    as_json: bool,
    now: datetime | None,
    allow_distant_now: bool,
    hold_seconds: float,
    pause_between_batches: float,
) -> None:
    """Run the reminder job once, as a scheduler would.

    Exits 0 when the run succeeded or was skipped because another run holds the lock,
    1 when it failed, 2 on a bad option (a distant --now too: refused before the run starts).
    """
    from ..monitoring.run_monitor import monitored_run
    from .progress import Progress

    if now is not None and not allow_distant_now:
        _refuse_distant_now(ctx, now)
    _terminate_gracefully()
    progress = Progress(stream=sys.stderr)
    try:
        outcome = monitored_run(
            ctx.settings,
            now=now,
            trigger_source="cli",
            hold_seconds=hold_seconds,
            pause_between_batches=pause_between_batches,
            show_progress=progress,
        )
    finally:
        progress.close()
    if as_json:
        echo_json(outcome.to_dict())
    else:
        click.echo(run_line(outcome))
    if not outcome.ok:
        sys.exit(1)


@click.command()
@click.option(
    "--assignments",
    type=WholeNumber(min=1, max=10_000_000),
    default=2000,
    show_default=True,
    help="Assignments to add (with their mentors, contacts and coordinators).",
)
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The date the data is relative to. Default: today (UTC).",
)
@click.option(
    "--random-seed",
    type=WholeNumber(0, 2**63 - 1),
    default=1,
    show_default=True,
    help="The same seed and --today give the same names and dates.",
)
@json_option("what was added")
@pass_context
def seed(
    ctx: Context, assignments: int, today: datetime | None, random_seed: int, as_json: bool
) -> None:
    """Add realistic synthetic organizations, mentors, contacts and assignments (COPY).

    For development databases: where auth.users exists (Supabase), each made-up coordinator and
    mentor also gets a bare user there (no email, no password), which their user_id references.
    """
    from ..dev.seed import seed as run_seed

    day: date = today.date() if today else datetime.now(UTC).date()
    started = time.perf_counter()
    with connect(database_url(ctx.settings), purpose="seed") as conn:
        result = run_seed(conn, assignments=assignments, today=day, random_seed=random_seed)
    seconds = time.perf_counter() - started
    if as_json:
        echo_json({**asdict(result), "seconds": seconds})
        return
    click.echo(seeded_line(result, seconds))


def run_line(outcome: RunOutcome) -> str:
    """``run``'s line: what the run did, or, skipped, who holds the lock it did not get."""
    done = outcome.counts.summary()
    if outcome.status == RunStatus.SKIPPED:
        h = outcome.holder
        who = "another session" if h is None else f"PostgreSQL backend {h.pid}"
        if h is not None and h.application_name:
            who += f" ({h.application_name})"
        done = f"nothing done: the job's lock is held by {who}"
    return (
        f"{outcome.status}"
        + (f" ({outcome.note})" if outcome.note else "")
        + f": run {outcome.run_id}, {done}, lock {outcome.lock_acquire_ms:.1f} ms"
        + outcome.delivery_tail()
        + (f"\nerror: {outcome.error}" if outcome.error else "")
    )


def seeded_line(result: SeedResult, seconds: float) -> str:
    """``seed``'s one line: ``seeded 100 assignments, 13 peer mentors, 1 coordinator, ...``."""
    made_of = (
        (result.assignments, "assignment"),
        (result.peer_mentors, "peer mentor"),
        (result.coordinators, "coordinator"),
        (result.organizations, "organization"),
    )
    made = ", ".join(counted(n, noun) for n, noun in made_of)
    return f"seeded {made} in {seconds:.1f} s"


@click.command()
@json_option()
@click.option(
    "--limit",
    type=WholeNumber(min=1, max=10_000),
    default=20,
    show_default=True,
    help="Recent runs shown, newest first.",
)
@pass_context
def status(ctx: Context, as_json: bool, limit: int) -> None:
    """Show recent runs, who holds the job's lock now, and open monitoring alerts."""
    from ..clock import utc_now
    from ..monitoring.status import read_status

    with connect(database_url(ctx.settings), purpose="status") as conn:
        current = read_status(conn, ctx.settings, now=utc_now(), limit=limit)
    if as_json:
        echo_json(current.to_dict())
        return
    term = terminal()
    echo_text(current.render(width=term.width, colour=term.colour), term)


def _refuse_distant_now(ctx: Context, now: datetime) -> None:
    """``--now`` far from the database's clock (read once, here): ``--now``'s usage error."""
    from ..exceptions import InputError
    from ..job.distant_now import check_now, database_clock

    with connect(database_url(ctx.settings), purpose="clock") as conn:
        database_now = database_clock(conn)
    try:
        check_now(now, database_now=database_now, meant="--allow-distant-now")
    except InputError as exc:
        raise click.BadParameter(exc.message, param_hint="'--now'") from None


def _terminate_gracefully() -> None:
    """Turn SIGTERM into SystemExit so ``finally`` blocks (the lock release) run."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
