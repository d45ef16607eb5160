"""A real PgBouncer (Debian's package) in front of the test PostgreSQL, started by the tests.

Each instance writes its own ini and userlist in a fresh directory, listens on a free port on
127.0.0.1, and forwards every database name (``*``) to the test server, which for the embedded
pgserver is a unix socket directory. PgBouncer refuses to run as root, so as root it is started
with ``-u`` as the unprivileged ``pgserver`` user (who can reach pgserver's socket) or ``nobody``.

A missing PgBouncer fails the tests (tests/dependencies.py); ``make test`` installs it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.conftest import wait_for
from tests.dependencies import missing
from tests.receivers import free_port


def pgbouncer_binary() -> str:
    """The pgbouncer executable; fails the test when it is not installed."""
    found = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )
    if found is None:
        missing("pgbouncer", "`make test` installs it (apt-get install pgbouncer)")
    return found


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    for user in ("pgserver", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        return user
    pytest.fail("running as root and no unprivileged user (pgserver, nobody) for pgbouncer")


class PgBouncer:
    """One running PgBouncer; :meth:`url` gives a libpq string to a database through it."""

    def __init__(self, upstream_url: str, pool_mode: str, workdir: Path, port: int) -> None:
        self.upstream = conninfo_to_dict(upstream_url)
        self.pool_mode = pool_mode
        self.workdir = workdir
        self.port = port
        self.user = str(self.upstream.get("user") or "postgres")
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, dbname: str) -> str:
        return make_conninfo(
            "", host="127.0.0.1", port=str(self.port), dbname=dbname, user=self.user
        )

    def url_for(self, database_url: str) -> str:
        """The same database as *database_url*, through this PgBouncer."""
        return self.url(str(conninfo_to_dict(database_url)["dbname"]))

    def _write_config(self) -> Path:
        target = {
            "host": str(self.upstream.get("host") or "/var/run/postgresql"),
            "port": str(self.upstream.get("port") or "5432"),
            "user": self.user,
        }
        if self.upstream.get("password"):
            target["password"] = str(self.upstream["password"])
        forward = " ".join(f"{k}={v}" for k, v in target.items())
        ini = self.workdir / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"* = {forward}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {self.workdir / 'userlist.txt'}\n"
            f"pool_mode = {self.pool_mode}\n"
            "default_pool_size = 10\n"
            "max_client_conn = 200\n"
            "server_reset_query = DISCARD ALL\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
            f"logfile = {self.workdir / 'pgbouncer.log'}\n"
            f"pidfile = {self.workdir / 'pgbouncer.pid'}\n"
        )
        (self.workdir / "userlist.txt").write_text(f'"{self.user}" ""\n')
        return ini

    def start(self) -> None:
        ini = self._write_config()
        command = [pgbouncer_binary()]
        user = _run_as()
        if user is not None:
            entry = pwd.getpwnam(user)
            for path in (self.workdir, *self.workdir.iterdir()):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            self.workdir.chmod(0o755)
            command += ["-u", user]
        self.process = subprocess.Popen(
            [*command, str(ini)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        wait_for(self._accepting, timeout=15)

    def _accepting(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            log = self.workdir / "pgbouncer.log"
            stderr = self.process.stderr.read().decode() if self.process.stderr else ""
            pytest.fail(
                f"pgbouncer exited ({self.process.returncode}): {stderr}"
                + (log.read_text() if log.exists() else "")
            )
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()


@contextmanager
def running_pgbouncer(upstream_url: str, pool_mode: str) -> Iterator[PgBouncer]:
    workdir = Path(tempfile.mkdtemp(prefix=f"pgbouncer-{pool_mode}-"))
    bouncer = PgBouncer(upstream_url, pool_mode, workdir, free_port())
    try:
        bouncer.start()
        yield bouncer
    finally:
        bouncer.stop()
        shutil.rmtree(workdir, ignore_errors=True)
