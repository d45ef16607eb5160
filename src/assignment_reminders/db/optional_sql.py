"""The optional SQL files (``supabase/optional/``): not migrations, applied by hand when wanted.

They ship in the wheel (``assignment_reminders/optional``, like the migrations), so an installed
service can print them: ``reminders optional-sql pg_cron_schedule``.
"""

from __future__ import annotations

from pathlib import Path

from ..exceptions import ConfigurationError
from .migrations import migrations_dir


def optional_sql_dir() -> Path:
    """Beside the migrations: ``assignment_reminders/optional`` installed, ``supabase/optional``
    in the source tree."""
    directory = migrations_dir().with_name("optional")
    if not directory.is_dir():
        raise ConfigurationError(f"no optional SQL files found (looked in {directory})")
    return directory


def optional_sql_names(directory: Path | None = None) -> list[str]:
    return sorted(p.stem for p in (directory or optional_sql_dir()).glob("*.sql"))


def optional_sql(name: str, directory: Path | None = None) -> str:
    """The text of ``<name>.sql``; :class:`ConfigurationError` naming the choices otherwise."""
    names = optional_sql_names(directory)
    if name.removesuffix(".sql") not in names:
        raise ConfigurationError(f"no optional SQL file {name!r}; there are: {', '.join(names)}")
    return ((directory or optional_sql_dir()) / f"{name.removesuffix('.sql')}.sql").read_text()
