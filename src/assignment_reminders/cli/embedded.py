"""``reminders embedded ...``: the bundled PostgreSQL used when DATABASE_URL is unset."""

from __future__ import annotations

import click

from .options import Context, echo_json, json_option, pass_context


@click.group()
def embedded() -> None:
    """Manage the embedded PostgreSQL (used when DATABASE_URL is unset)."""


@embedded.command("status")
@json_option("the state")
@pass_context
def embedded_status(ctx: Context, as_json: bool) -> None:
    """Say whether the embedded server is running, and where."""
    from ..db.embedded import embedded_server_running

    state = "running" if embedded_server_running(ctx.settings.data_dir) else "stopped"
    if as_json:
        echo_json({"data_dir": str(ctx.settings.data_dir), "state": state})
        return
    click.echo(f"embedded PostgreSQL in {ctx.settings.data_dir}: {state}")


@embedded.command("url")
@pass_context
def embedded_url(ctx: Context) -> None:
    """Start the embedded server if needed and print its connection URI (for psql)."""
    from ..db.embedded import embedded_database_url

    click.echo(embedded_database_url(ctx.settings.data_dir))


@embedded.command("stop")
@json_option("whether it was running")
@pass_context
def embedded_stop(ctx: Context, as_json: bool) -> None:
    """Stop the embedded server (the next command starts it again)."""
    from ..db.embedded import stop_embedded_database

    stopped = stop_embedded_database(ctx.settings.data_dir)
    if as_json:
        echo_json({"data_dir": str(ctx.settings.data_dir), "stopped": stopped})
        return
    click.echo("stopped" if stopped else "not running")
