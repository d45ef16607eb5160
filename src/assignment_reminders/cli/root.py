"""The ``reminders`` group and its error boundary: one line on stderr and a non-zero exit."""

from __future__ import annotations

import sys
import traceback
from typing import Any

import click
import psycopg

from .. import __version__
from ..config import LOG_FORMATS, LOG_LEVELS, Settings
from ..exceptions import ReminderError, SchemaMissingError
from ..gateway import fault
from ..logs import configure_logging, error_line
from .options import Context

ENV_HELP = (
    "Environment (docs/configuration.md): DATABASE_URL (libpq URI or key=value string; unset ="
    " the embedded PostgreSQL of the [embedded] extra), REMINDERS_DATA_DIR (embedded data dir),"
    " REMINDERS_BATCH_SIZE (due reminders per transaction, default 20000), SUPABASE_URL (user"
    " tokens checked with the project's signing keys), REMINDERS_JWT_SECRET or SUPABASE_JWT_SECRET"
    " (legacy HS256 secret), REMINDERS_CRON_SECRET (the cron endpoint's own secret),"
    " REMINDERS_CORS_ORIGINS (browser origins; docs/supabase.md),"
    " REMINDERS_LOG_LEVEL (default INFO), REMINDERS_LOG_FORMAT (text|json, default text)."
    " Locking (docs/locking.md): REMINDERS_LOCK_SCOPE (session|transaction, default session),"
    " REMINDERS_LOCK_ROLE (default service_role), REMINDERS_LOCK_DATABASE_URL (lock connection;"
    " default DATABASE_URL), REMINDERS_LOCK_HEARTBEAT_SECONDS (default 5),"
    " REMINDERS_LOCK_IDLE_TIMEOUT_SECONDS (a hung holder loses the lock after this; default 30)."
)


OUTPUT_HELP = (
    "Output: tables fit the terminal (COLUMNS; a pipe gets every character), long text ends in"
    " an ellipsis and --json (on every command that reports) has it whole, figures rounded;"
    " status words are coloured on a terminal only (NO_COLOR turns colour off, FORCE_COLOR keeps"
    ' it on a pipe). Shell completion: eval "$(_REMINDERS_COMPLETE=bash_source reminders)"'
    " (zsh_source, fish_source: README)."
)


@click.group(
    help="Exactly-once contact reminders for peer-mentoring programmes."
    f"\n\n{ENV_HELP}\n\n{OUTPUT_HELP}"
)
@click.version_option(__version__, prog_name="reminders")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default=None,
    help="  [env: REMINDERS_LOG_LEVEL; default: INFO]",
)
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS, case_sensitive=False),
    default=None,
    help="json: one JSON object per line (time, level, logger, message, run_id,"
    " invocation_id).  [env: REMINDERS_LOG_FORMAT; default: text]",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, log_level: str | None, log_format: str | None) -> None:
    context = Context(debug)
    settings = context.settings_or_none() or Settings()  # a malformed environment: see command
    configure_logging(log_level or settings.log_level, (log_format or settings.log_format).lower())
    ctx.obj = context


def _command(args: list[str]) -> str:
    """```reminders <command>``` for a message: the first word that is a command."""
    words = [a for a in args if a in cli.commands][:1]
    return f"`reminders {words[0]}`" if words else "`reminders`"


def main(argv: list[str] | None = None) -> Any:
    """The entry point: every expected failure ends in one line on stderr (exit 1; click's
    usage errors exit 2), the traceback only with ``--debug``."""
    try:
        return cli.main(args=argv, prog_name="reminders", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:  # bad input: one line naming it, exit 2
        where = exc.ctx.command_path if exc.ctx is not None else "reminders"
        click.echo(error_line(f"{exc.format_message()} (see `{where} --help`)"), err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (ReminderError, psycopg.Error) as raised:
        # A database fault anywhere (server stopped or restarted, session terminated, dead
        # network) ends here too: one line naming what failed and what to do, exit 1.
        args = argv if argv is not None else sys.argv[1:]
        if "--debug" in args:
            traceback.print_exc()
        # driver errors and a missing schema are said for the command the user ran
        error = (
            fault(raised, _command(args))
            if isinstance(raised, psycopg.Error | SchemaMissingError)
            else raised
        )
        cause = error.__cause__ or (raised if raised is not error else None)
        detail = f" (caused by {type(cause).__name__})" if cause is not None else ""
        click.echo(error_line(f"{error.message}{detail}"), err=True)
        sys.exit(1)
