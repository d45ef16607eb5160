"""The optional SQL files (``supabase/optional/``): not migrations, applied by hand when wanted.

They ship in the wheel (``assignment_reminders/optional``, like the migrations), so an installed
service can print them: ``reminders optional-sql pg_cron_schedule``.
"""

from __future__ import annotations

from pathlib import Path

from .exceptions import ConfigurationError


def optional_sql_dir() -> Path:
    """Where the optional SQL files are: inside the installed package, or in the source tree."""
    packaged = Path(__file__).with_name("optional")
    if packaged.is_dir():
        return packaged
    source = Path(__file__).resolve().parents[2] / "supabase" / "optional"
    if source.is_dir():
        return source
    raise ConfigurationError(f"no optional SQL files found (looked in {packaged} and {source})")


def optional_sql_names(directory: Path | None = None) -> list[str]:
    return sorted(p.stem for p in (directory or optional_sql_dir()).glob("*.sql"))


def optional_sql(name: str, directory: Path | None = None) -> str:
    """The text of ``<name>.sql``; :class:`ConfigurationError` naming the choices otherwise."""
    names = optional_sql_names(directory)
    if name.removesuffix(".sql") not in names:
        raise ConfigurationError(f"no optional SQL file {name!r}; there are: {', '.join(names)}")
    return ((directory or optional_sql_dir()) / f"{name.removesuffix('.sql')}.sql").read_text()
