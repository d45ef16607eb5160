"""`reminders serve` as a process: it refuses a public address without an ops token."""

from __future__ import annotations

import os
import subprocess

from tests.conftest import reminders_cmd
from tests.receivers import free_port

DOWN_URL = f"postgresql://dbadmin:pw@db.internal.example:{free_port()}/prod?connect_timeout=2"


def test_serve_refuses_a_public_address_without_an_ops_token() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMINDERS_")}
    env.update(DATABASE_URL=DOWN_URL, REMINDERS_HTTP_HOST="0.0.0.0")  # noqa: S104
    done = subprocess.run(
        reminders_cmd("serve", "--no-builtin-cron"),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: refusing to serve /ops and /metrics without credentials on 0.0.0.0: set"
        " REMINDERS_OPS_TOKEN (or pass --allow-open-ops / REMINDERS_ALLOW_OPEN_OPS=true)"
    ]
