"""The ``reminders`` command, one module per family of commands, registered here explicitly.

::

    root.py       the group (``--debug``, ``--log-level``) and ``main``, the error boundary
    options.py    the shared context and option types (``--json``, ``--now``, settings-backed,
                  ``Text``: every text parameter, see ``text_everywhere``)
    job.py        migrate, run, seed, status
    serve.py      serve
    embedded.py   embedded status|url|stop
    admin.py      admin set-last-contact|last-contact-history
    delivery.py   worker, deliveries, webhook-secret
    monitoring.py check
    incidents.py  incidents list|ack, maintenance open|close|list
    doctor.py     doctor
    sql.py        optional-sql

Command modules import ``options`` only, never each other nor this package: no import cycles.
"""

from __future__ import annotations

import click

from .admin import admin
from .delivery import deliveries, webhook_secret, worker
from .doctor import doctor
from .embedded import embedded
from .incidents import incidents, maintenance
from .job import migrate, run, seed, status
from .monitoring import check
from .options import text_everywhere
from .root import cli, main
from .serve import serve
from .sql import optional_sql_command

COMMANDS: tuple[click.Command, ...] = (
    migrate,
    run,
    seed,
    status,
    serve,
    embedded,
    admin,
    worker,
    deliveries,
    webhook_secret,
    check,
    incidents,
    maintenance,
    doctor,
    optional_sql_command,
)

for _command in COMMANDS:
    cli.add_command(_command)
text_everywhere(cli)  # every text parameter refuses what is not text: one line, exit 2

__all__ = ["COMMANDS", "cli", "main"]
