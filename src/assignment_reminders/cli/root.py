"""The ``reminders`` group and its error boundary: one line on stderr and a non-zero exit."""

from __future__ import annotations

import itertools
import os
import sys
import traceback
from typing import Any

import click
import psycopg

from .. import __version__
from ..config import LOG_FORMATS, LOG_LEVELS, Settings
from ..db.gateway import fault
from ..exceptions import ReminderError, SchemaMissingError
from ..logs import configure_logging, error_line, errors_as, format_from_env, json_errors
from .options import Context, env_help, setting_help

ENV_HELP = (
    "Environment (docs/configuration.md lists every variable, its type, bounds and default). "
    + env_help("", "auth", "lock")
    + " `reminders serve --help` and `reminders worker --help` give theirs."
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
    help=setting_help("log_level"),
)
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS, case_sensitive=False),
    default=None,
    help=setting_help("log_format"),
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, log_level: str | None, log_format: str | None) -> None:
    context = Context(debug)
    settings = context.settings_or_none()  # None: a malformed environment, said by the command
    level = log_level or (settings or Settings()).log_level
    fmt = log_format or (settings.log_format if settings else format_from_env(os.environ))
    configure_logging(level, fmt.lower())
    ctx.obj = context


def _command(args: list[str]) -> str:
    """```reminders <command>``` for a message: the first word that is a command."""
    words = [a for a in args if a in cli.commands][:1]
    return f"`reminders {words[0]}`" if words else "`reminders`"


def _json_flag(args: list[str]) -> bool:
    """``--log-format json`` (or ``=json``) among the group's options."""
    pairs = itertools.pairwise([*args, ""])  # (option, its value); none for no arguments
    return any(
        (a == "--log-format" and b.lower() == "json") or a.lower() == "--log-format=json"
        for a, b in pairs
    )


def main(argv: list[str] | None = None) -> Any:
    """The entry point: every expected failure ends in one line on stderr (exit 1; click's
    usage errors exit 2), the traceback only with ``--debug``; with ``REMINDERS_LOG_FORMAT=json``
    that line is JSON too, whether or not logging was configured before the failure. A group
    named without its command (``reminders``, ``reminders admin``) prints its help, exit 0."""
    args = argv if argv is not None else sys.argv[1:]
    errors_as("json" if _json_flag(args) else format_from_env(os.environ))
    try:
        return cli.main(args=argv, prog_name="reminders", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.exceptions.NoArgsIsHelpError as exc:  # `reminders`, `reminders admin`: a menu
        click.echo(exc.format_message())
        return 0
    except click.UsageError as exc:  # bad input: one line naming it, exit 2
        where = exc.ctx.command_path if exc.ctx is not None else "reminders"
        click.echo(error_line(f"{exc.format_message()} (see `{where} --help`)"), err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        if json_errors():
            click.echo(error_line(exc.format_message()), err=True)
        else:
            exc.show()
        sys.exit(exc.exit_code)
    except (ReminderError, psycopg.Error) as raised:
        # A database fault anywhere (server stopped or restarted, session terminated, dead
        # network) ends here too: one line naming what failed and what to do, exit 1.
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
