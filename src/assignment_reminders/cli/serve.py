"""``reminders serve``: the HTTP API, with the built-in cron and monitoring checks."""

from __future__ import annotations

import logging
import socket
from dataclasses import replace

import click

from ..config import ScheduleSettings
from .options import Context, pass_context, renamed_option, setting_option

logger = logging.getLogger("assignment_reminders")


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"  # an IPv6 address: brackets


def listen(host: str, port: int) -> list[socket.socket]:
    """Bound sockets for every address *host* names (as asyncio's ``create_server`` would bind
    them), before anything starts: a name that does not resolve or an address in use stops
    ``serve`` with one line naming it, not in uvicorn's log after the app has started."""
    from ..exceptions import ConfigurationError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        why = exc.strerror if isinstance(exc, socket.gaierror) else "not a host name"
        raise ConfigurationError(
            f"cannot listen on host {host!r}: {why} (REMINDERS_HTTP_HOST / --host)"
        ) from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):  # each address once
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise ConfigurationError(
            f"cannot listen on {_host_port(host, port)}: {exc.strerror}"
            " (REMINDERS_HTTP_PORT / --port, REMINDERS_HTTP_HOST / --host)"
        ) from None
    return sockets


@click.command()
@setting_option("--host", path="http.host")
@setting_option("--port", path="http.port")
@setting_option("--schedule", path="schedule.expression")
@setting_option("--time-zone", path="schedule.time_zone")
@setting_option("--builtin-cron/--no-builtin-cron", path="schedule.enabled")
@renamed_option("--scheduler", "--builtin-cron")
@renamed_option("--no-scheduler", "--no-builtin-cron")
@setting_option("--allow-open-ops/--no-allow-open-ops", path="http.allow_open_ops")
@pass_context
def serve(
    ctx: Context,
    *,
    host: str,
    port: int,
    schedule: str,
    time_zone: str,
    builtin_cron: bool,
    allow_open_ops: bool,
) -> None:
    """Serve the HTTP API and run the job on its schedule.

    Endpoints: POST /functions/v1/assignment-reminder-cron, /health, /ready, /metrics, /ops.
    Unless --no-builtin-cron, the job also runs on --schedule and the monitoring checks run every
    REMINDERS_CHECK_INTERVAL_SECONDS (60). With REMINDERS_OPS_TOKEN set, /ops and /metrics need it
    as a bearer token; without it, serve only listens on a loopback address (or --allow-open-ops).
    """
    import uvicorn

    from ..api.app import create_app
    from ..api.ops_auth import is_loopback
    from ..exceptions import ConfigurationError
    from ..monitoring.cron import CronSchedule
    from ..monitoring.service import start_background

    if ctx.settings.http.ops_token is None and not is_loopback(host) and not allow_open_ops:
        raise ConfigurationError(
            f"refusing to serve /ops and /metrics without credentials on {host}: set"
            " REMINDERS_OPS_TOKEN (or pass --allow-open-ops / REMINDERS_ALLOW_OPEN_OPS=true)"
        )
    # a bad schedule stops here, in one line
    cron = CronSchedule.parse(schedule, time_zone) if builtin_cron else None
    sockets = listen(host, port)  # so does an address in use, before anything starts
    background = None
    try:
        if ctx.settings.uses_embedded_database:
            from ..db.database import database_url

            database_url(ctx.settings)  # start it now, or stop here if it is not installed
        if not ctx.settings.auth.verifies_user_tokens:
            logger.warning(
                "neither SUPABASE_URL nor REMINDERS_JWT_SECRET is set: user endpoints answer 401"
            )
        if ctx.settings.auth.cron_secret is None and ctx.settings.auth.jwt_secret is None:
            logger.warning(
                "neither REMINDERS_CRON_SECRET nor REMINDERS_JWT_SECRET is set: the cron endpoint"
                " answers 401 to every caller (docs/supabase.md)"
            )
        # what this process does, for /ops: the schedule it fires on, or none (--no-builtin-cron)
        settings = replace(
            ctx.settings,
            schedule=ScheduleSettings(
                expression=schedule, time_zone=time_zone, enabled=builtin_cron
            ),
        )
        background = start_background(settings, cron) if cron is not None else None
        # log_config=None: uvicorn's loggers keep the configuration above (logs.py)
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings, settle_heap=True),
                log_config=None,
                log_level=logging.getLogger().level,
            )
        )
        logger.info("serving on http://%s", _host_port(host, sockets[0].getsockname()[1]))
        server.run(sockets=sockets)
        if not server.started:  # the app's start-up failed: uvicorn has logged why
            raise SystemExit(3)
    finally:
        for sock in sockets:
            sock.close()
        if background is not None:
            background.stop()
