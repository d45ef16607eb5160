"""The embedded PostgreSQL used when ``DATABASE_URL`` is unset, for laptops and demos.

pgserver (from PyPI) bundles a PostgreSQL build; we start it on demand in a data directory and leave
it running between commands, so the second command finds it ready. It listens on a unix socket
only, never on a TCP port.

It is an extra, ``assignment-reminders[embedded]``: a production install without it and without
``DATABASE_URL`` stops every database command with one line instead of quietly working on an
empty database of its own. With it, each command says on stderr that it uses the embedded one.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

from ..exceptions import EmbeddedDatabaseError

logger = logging.getLogger(__name__)
# pgserver logs each pg_ctl/initdb command line and its output at INFO: its warnings only
logging.getLogger("pgserver").setLevel(logging.WARNING)

NOT_INSTALLED = (
    "DATABASE_URL is unset and the embedded PostgreSQL is not installed: set DATABASE_URL to your"
    " database, or install the extra for laptops and demos: pip install"
    " 'assignment-reminders[embedded]'"
)
_announced: set[Path] = set()


def embedded_database_url(data_dir: Path, *, keep_running: bool = True) -> str:
    """Start (or find running) the embedded server in *data_dir* and return its libpq URI.

    With *keep_running* (the default) the server outlives this process, so the next command
    finds it ready; otherwise it stops when this process exits (the test suite's choice).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
            import pgserver
    except ImportError:
        raise EmbeddedDatabaseError(NOT_INSTALLED) from None
    if data_dir not in _announced:  # once per process and directory, on every command
        _announced.add(data_dir)
        logger.warning(
            "DATABASE_URL is unset: using the embedded PostgreSQL in %s (for laptops and demos)",
            data_dir,
        )
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmbeddedDatabaseError(
            f"cannot create the embedded data directory {data_dir} ({exc.strerror}):"
            " set REMINDERS_DATA_DIR to a writable directory, or DATABASE_URL"
        ) from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = pgserver.get_server(data_dir, cleanup_mode=None if keep_running else "stop")
    except Exception as exc:
        raise EmbeddedDatabaseError(
            f"could not start the embedded PostgreSQL in {data_dir}: {exc}"
        ) from exc
    uri = str(server.get_uri())
    logger.debug("embedded PostgreSQL ready in %s", data_dir)
    return uri


def embedded_server_running(data_dir: Path) -> bool:
    """Whether a server is running in *data_dir* (its postmaster is alive)."""
    pid_file = data_dir / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (ValueError, IndexError, OSError):  # absent, unreadable or not a pid file
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_embedded_database(data_dir: Path) -> bool:
    """Stop the embedded server in *data_dir* (fast shutdown); False when none was running."""
    if not embedded_server_running(data_dir):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver import _commands

    user = "pgserver" if hasattr(os, "geteuid") and os.geteuid() == 0 else None
    try:
        _commands.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=user, timeout=60)
    except Exception as exc:
        raise EmbeddedDatabaseError(f"could not stop the embedded PostgreSQL: {exc}") from exc
    return True
