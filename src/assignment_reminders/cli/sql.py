"""``reminders optional-sql``: print the optional SQL files shipped with the package."""

from __future__ import annotations

import click


@click.command("optional-sql")
@click.argument("name", required=False)
def optional_sql_command(name: str | None) -> None:
    """Print the optional SQL file NAME (without NAME: list them).

    These are not migrations: apply them by hand, e.g. in Supabase's SQL editor.
    pg_cron_schedule schedules the job with pg_cron + pg_net, reading the job's secret from
    Supabase Vault (docs/supabase.md).
    """
    from ..db.optional_sql import optional_sql, optional_sql_names
    from ..exceptions import ConfigurationError

    if name is None:
        for each in optional_sql_names():
            click.echo(each)
        return
    try:
        text = optional_sql(name)
    except ConfigurationError as exc:
        raise click.BadParameter(exc.message, param_hint="NAME") from None
    click.echo(text, nl=False)
