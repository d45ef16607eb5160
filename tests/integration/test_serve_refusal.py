"""`reminders serve` as a process: it refuses a public address without an ops token."""

from __future__ import annotations

import socket

from tests.conftest import reminders_env, run_reminders
from tests.receivers import free_port

DOWN_URL = f"postgresql://dbadmin:pw@db.internal.example:{free_port()}/prod?connect_timeout=2"


def test_serve_refuses_a_public_address_without_an_ops_token() -> None:
    env = reminders_env(DOWN_URL, REMINDERS_HTTP_HOST="0.0.0.0")  # noqa: S104
    done = run_reminders(env, "serve", "--no-builtin-cron", timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: refusing to serve /ops and /metrics without credentials on 0.0.0.0: set"
        " REMINDERS_OPS_TOKEN (or pass --allow-open-ops / REMINDERS_ALLOW_OPEN_OPS=true)"
    ]


def test_serve_refuses_a_bad_schedule_in_one_line_before_any_warning() -> None:
    for variable, value, said in [
        ("REMINDERS_SCHEDULE", "61 * * * *", "error: cron expression '61 * * * *': Bad minute"),
        ("REMINDERS_SCHEDULE_TZ", "Mars/Base", "error: not a known IANA time zone: 'Mars/Base'"),
    ]:
        env = reminders_env(DOWN_URL, **{variable: value})
        done = run_reminders(env, "serve", "--port", str(free_port()), timeout=60)
        assert (done.returncode, done.stderr.strip().splitlines()) == (1, [said]), variable


def test_serve_refuses_an_address_it_cannot_listen_on_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for host, args, said in [
            ("127.0.0.1", ("--port", str(port)), f"127.0.0.1:{port}: Address already in use"),
            ("no such host.invalid", (), "cannot listen on host 'no such host.invalid': "),
        ]:
            env = reminders_env(DOWN_URL, REMINDERS_HTTP_HOST=host, REMINDERS_ALLOW_OPEN_OPS="1")
            done = run_reminders(env, "serve", *args, timeout=60)
            lines = done.stderr.strip().splitlines()
            assert done.returncode == 1, done.stderr
            assert len(lines) == 1 and lines[0].startswith("error: cannot listen on"), lines
            assert said in lines[0], lines
