"""The embedded PostgreSQL used when ``DATABASE_URL`` is unset.

pgserver (from PyPI) bundles a PostgreSQL build; we start it on demand in a data directory and leave
it running between commands, so the second command finds it ready. It listens on a unix socket
only, never on a TCP port.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from .exceptions import EmbeddedDatabaseError

logger = logging.getLogger(__name__)


def embedded_database_url(data_dir: Path, *, keep_running: bool = True) -> str:
    """Start (or find running) the embedded server in *data_dir* and return its libpq URI.

    With *keep_running* (the default) the server outlives this process, so the next command
    finds it ready; otherwise it stops when this process exits (the test suite's choice).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
            import pgserver
    except ImportError as exc:  # pragma: no cover - pgserver is a hard dependency
        raise EmbeddedDatabaseError(
            "the embedded database needs the 'pgserver' package; install it or set DATABASE_URL"
        ) from exc
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.getLogger("pgserver").setLevel(logging.WARNING)
            server = pgserver.get_server(data_dir, cleanup_mode=None if keep_running else "stop")
    except Exception as exc:
        raise EmbeddedDatabaseError(
            f"could not start the embedded PostgreSQL in {data_dir}: {exc}"
        ) from exc
    uri = str(server.get_uri())
    logger.debug("embedded PostgreSQL ready in %s", data_dir)
    return uri


def stop_embedded_database(data_dir: Path) -> bool:
    """Stop the embedded server in *data_dir*; False when none was running."""
    import subprocess

    if not (data_dir / "postmaster.pid").exists():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(data_dir, cleanup_mode="stop")
    server.cleanup()
    # cleanup() only stops the server when this process started it; make sure it is down.
    if (data_dir / "postmaster.pid").exists():
        subprocess.run(
            ["pg_ctl", "-D", str(data_dir), "-m", "fast", "-w", "stop"],
            check=False,
            capture_output=True,
        )
    return True
