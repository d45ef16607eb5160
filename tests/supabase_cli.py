"""The real Supabase CLI (npm package ``supabase``, pinned in tools/supabase-cli), run as a process.

``make test`` installs it; a missing CLI fails the test (tests/dependencies.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

from psycopg.conninfo import conninfo_to_dict

from assignment_reminders.db.migrations import migrations_dir
from tests.dependencies import missing

REPO = Path(__file__).resolve().parents[1]
CLI = REPO / "tools" / "supabase-cli" / "node_modules" / ".bin" / "supabase"


def supabase_cli() -> Path:
    if not CLI.exists():
        missing(f"the Supabase CLI ({CLI})", "`make test` installs it (or `make supabase-cli`)")
    return CLI


def cli_db_url(url: str) -> str:
    """*url* as the percent-encoded URL ``--db-url`` wants (a socket directory as ?host=)."""
    p = conninfo_to_dict(url)
    host = str(p.get("host") or "localhost")
    user = quote(str(p.get("user") or "postgres"), safe="")
    password = f":{quote(str(p['password']), safe='')}" if p.get("password") else ""
    port = str(p.get("port") or "5432")
    dbname = quote(str(p["dbname"]), safe="")
    if host.startswith("/"):
        return f"postgresql://{user}{password}@localhost:{port}/{dbname}?host={quote(host)}"
    return f"postgresql://{user}{password}@{host}:{port}/{dbname}"


def project_dir(tmp_path: Path) -> Path:
    """A Supabase project directory holding exactly our migrations."""
    workdir = tmp_path / "project"
    shutil.copytree(migrations_dir(), workdir / "supabase" / "migrations", dirs_exist_ok=True)
    return workdir


def db_push(url: str, workdir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return _cli(url, workdir, "db", "push", *extra)


def migration_fetch(url: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    """``supabase migration fetch``: the history's statements written back as files into
    *workdir*/supabase/migrations."""
    (workdir / "supabase").mkdir(parents=True, exist_ok=True)
    return _cli(url, workdir, "migration", "fetch")


def _cli(url: str, workdir: Path, *command: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPABASE_", "PG"))}
    env.update(HOME=str(workdir), DO_NOT_TRACK="1", SUPABASE_TELEMETRY_DISABLED="1")
    return subprocess.run(
        [
            str(supabase_cli()),
            *command,
            "--db-url",
            cli_db_url(url),
            "--workdir",
            str(workdir),
            "--yes",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
