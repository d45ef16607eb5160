"""``reminders doctor``: is this deployment able to run the job safely? One row per check.

Each check returns a :class:`Check` (pass, fail or skip) with what it found and, on a failure, the
fix. Checks never change the database: the lock connection is opened exactly as a run opens it,
but no lock is taken.
"""

from __future__ import annotations

import socket
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..auth.jwks import Fetch, fetch_jwks, parse_jwks
from ..config import Settings, describe_database_url
from ..db.database import KEEPALIVE_OPTIONS, Connection, connect, database_url, lock_database_url
from ..db.gateway import fetch_all, fetch_one, fetch_value, named
from ..db.migrations import applied, discover, edited, unapplied
from ..exceptions import ReminderError, SchemaMissingError, TransactionPoolerError
from ..job.distant_now import database_clock
from ..locking.lock import LOCK_KEY
from ..locking.pooler_check import check_real_session
from ..tables import render

MAX_CLOCK_SKEW_SECONDS = 2.0
NETWORK_TIMEOUT_SECONDS = 3.0
WRAPPER_GRANTS = (
    "REVOKE EXECUTE ON FUNCTION {sig} FROM PUBLIC, anon, authenticated;"
    " GRANT EXECUTE ON FUNCTION {sig} TO service_role"
)

_DOCTOR_LOCK_KEY = named("doctor_lock_key")
_DOCTOR_TIMEOUTS = named("doctor_timeouts")
_DOCTOR_VERSION = named("doctor_version")
_DOCTOR_WRAPPERS = named("doctor_wrappers")


@dataclass(frozen=True)
class Check:
    name: str
    result: str
    """``pass``, ``fail`` or ``skip``."""
    detail: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.result == "fail"


def passed(name: str, detail: str) -> Check:
    return Check(name, "pass", detail)


def failed(name: str, detail: str, fix: str) -> Check:
    return Check(name, "fail", detail, fix)


def render_checks(checks: list[Check], *, width: int | None = None, colour: bool = False) -> str:
    """The checks as a table at most *width* wide (long findings end in ``…``; ``--json`` has
    them whole), ``pass``/``fail``/``skip`` coloured on request; each failure's fix follows the
    table in full (wrapped to *width*), since a cut fix is no use."""
    rows = [{"name": c.name, "result": c.result, "detail": c.detail} for c in checks]
    table = render(
        rows,
        [("name", "check"), ("result", "result"), ("detail", "found")],
        width=width,
        colour=colour,
    )
    fixes = [
        textwrap.fill(f"fix {c.name}: {c.fix}", width, subsequent_indent="    ")
        if width is not None
        else f"fix {c.name}: {c.fix}"
        for c in checks
        if c.fix
    ]
    return "\n".join([table, *(["", *fixes] if fixes else [])])


def run_checks(settings: Settings, *, wall_clock: Callable[[], float] = time.time) -> list[Check]:
    """Every check, in order; database checks are skipped when the database is unreachable."""
    checks: list[Check] = []
    try:
        url = database_url(settings)
        lock_url = lock_database_url(settings, url)
        with connect(url, purpose="doctor") as conn, connect(lock_url, purpose="doctor-lock") as lk:
            checks.append(passed("database", f"{_version(conn)} at {describe_database_url(url)}"))
            checks.append(check_lock_connection(lk, lock_url, settings))
            checks.append(check_migrations(conn))
            checks.append(check_wrappers(conn))
            checks.append(check_lock_key(conn, settings.job_name))
            checks.append(check_timeouts(lk, settings))
            checks.append(check_clock(conn, wall_clock))
    except ReminderError as exc:
        checks.append(
            failed(
                "database",
                exc.message,
                "set DATABASE_URL (and REMINDERS_LOCK_DATABASE_URL, if used) to a reachable"
                " PostgreSQL; `reminders migrate` creates the schema",
            )
        )
    checks.append(check_smtp(settings))
    checks.append(check_webhook(settings))
    checks.append(check_signing_keys(settings))
    return checks


def _version(conn: Connection) -> str:
    return f"PostgreSQL {fetch_value(conn, _DOCTOR_VERSION, kind=str) or '?'}"


def check_lock_connection(lk: Connection, lock_url: str, settings: Settings) -> Check:
    name = "lock connection"
    where = describe_database_url(lock_url)
    if settings.lock.scope == "transaction":
        return passed(
            name,
            f"scope transaction on {where}: one open transaction per run pins a backend, which"
            " works direct, session-pooled and transaction-pooled",
        )
    try:
        found = check_real_session(lk, lock_url)
    except TransactionPoolerError as exc:
        return failed(
            name,
            f"scope session on {where}: transaction-pooled ({exc.reason})",
            "set REMINDERS_LOCK_SCOPE=transaction, or REMINDERS_LOCK_DATABASE_URL to the direct"
            " connection or the session pooler (port 5432)",
        )
    return passed(name, f"scope session on {where}: a real session ({found.kind})")


def check_migrations(conn: Connection) -> Check:
    name = "migrations"
    files = discover()
    done = applied(conn)
    missing = unapplied(files, done)
    changed = edited(files, done)
    if missing:
        return failed(
            name, f"pending: {', '.join(m.filename for m in missing)}", "run `reminders migrate`"
        )
    if changed:
        return failed(
            name,
            f"changed after they were applied: {', '.join(m.filename for m in changed)}",
            "restore the applied files; put changes in a new migration",
        )
    return passed(name, f"all {len(files)} applied")


@dataclass(frozen=True)
class _Wrapper:
    """``doctor_wrappers``: one lock wrapper function, whether it exists and who may run it."""

    sig: str
    present: bool
    service_role: bool
    anon: bool
    authenticated: bool
    public: bool
    search_path_pinned: bool


@dataclass(frozen=True)
class _LockKey:
    """``doctor_lock_key``: a registration of our lock key or our job name."""

    lock_key: int
    job_name: str


@dataclass(frozen=True)
class _Timeouts:
    """``doctor_timeouts``: the server's version and the timeouts that could end a lock."""

    version_num: int
    idle_session_timeout: str | None
    idle_in_transaction_session_timeout: str | None
    transaction_timeout: str | None
    statement_timeout: str | None


def check_wrappers(conn: Connection) -> Check:
    name = "lock wrappers"
    problems: list[str] = []
    fixes: list[str] = []
    for row in fetch_all(conn, _DOCTOR_WRAPPERS, row=_Wrapper):
        sig = row.sig
        if not row.present:
            problems.append(f"{sig} missing")
            fixes.append("run `reminders migrate`")
            continue
        granted = {"anon": row.anon, "authenticated": row.authenticated, "public": row.public}
        wrong = [who for who, may in granted.items() if may] + (
            [] if row.service_role else ["service_role cannot"]
        )
        if wrong:
            problems.append(f"{sig}: {', '.join(wrong)}")
            fixes.append(WRAPPER_GRANTS.format(sig=sig))
        if not row.search_path_pinned:
            problems.append(f"{sig}: search_path not pinned")
            fixes.append(f"ALTER FUNCTION {sig} SET search_path = pg_catalog")
    if problems:
        return failed(name, "; ".join(problems), "; ".join(dict.fromkeys(fixes)))
    return passed(name, "executable by service_role only, search_path pinned")


def check_lock_key(conn: Connection, job_name: str) -> Check:
    name = "lock key"
    try:
        rows = fetch_all(
            conn, _DOCTOR_LOCK_KEY, {"lock_key": LOCK_KEY, "job_name": job_name}, row=_LockKey
        )
    except SchemaMissingError:
        return failed(name, "background_job_lock_keys is missing", "run `reminders migrate`")
    pairs = [(r.lock_key, r.job_name) for r in rows]
    if pairs == [(LOCK_KEY, job_name)]:
        return passed(name, f"{LOCK_KEY} registered to {job_name} and to no other job")
    if not pairs:
        return failed(name, f"{LOCK_KEY} is not registered", "run `reminders migrate`")
    others = ", ".join(f"{k} -> {j}" for k, j in pairs if (k, j) != (LOCK_KEY, job_name))
    return failed(
        name,
        f"conflicting registrations: {others}",
        f"give the other job its own key (derive_lock_key(its name)); {job_name} uses {LOCK_KEY}",
    )


def check_timeouts(lk: Connection, settings: Settings) -> Check:
    name = "server timeouts"
    row = fetch_one(lk, _DOCTOR_TIMEOUTS, row=_Timeouts)
    assert row is not None
    if row.version_num < 140000:
        return failed(
            name,
            f"server {row.version_num} has no idle_session_timeout",
            "upgrade to PostgreSQL 14+, or use REMINDERS_LOCK_SCOPE=transaction",
        )
    ours = f"{settings.lock.idle_timeout_seconds:g} s"
    keepalive = KEEPALIVE_OPTIONS["tcp_user_timeout"] / 1000
    detail = (
        f"server idle_session_timeout={row.idle_session_timeout},"
        f" idle_in_transaction_session_timeout={row.idle_in_transaction_session_timeout}:"
        f" the lock session sets its own ({ours}, heartbeat every"
        f" {settings.lock.heartbeat_seconds:g} s); dead host bounded by tcp_user_timeout"
        f" {keepalive:g} s"
    )
    cut = row.transaction_timeout
    if settings.lock.scope == "transaction" and cut not in (None, "0", "0ms"):
        return failed(
            name,
            f"transaction_timeout={cut} would end the lock transaction mid-run",
            "ALTER ROLE <login> SET transaction_timeout = 0",
        )
    return passed(name, detail)


def clock_detail(skew: float, round_trip: float) -> str:
    """What the clock check says of a *skew* (database minus host, seconds) measured over a
    *round_trip*: to the millisecond, as its three decimals show."""
    trip = f"round trip {round_trip:.3f} s"
    if abs(skew) < 0.0005:
        return f"database clock agrees with this host's to the millisecond ({trip})"
    way = "ahead of" if skew > 0 else "behind"
    return f"database clock {abs(skew):.3f} s {way} this host's ({trip})"


def check_clock(conn: Connection, wall_clock: Callable[[], float]) -> Check:
    name = "clock skew"
    before = wall_clock()
    db_now = database_clock(conn)
    after = wall_clock()
    skew = db_now.timestamp() - (before + after) / 2
    detail = clock_detail(skew, after - before)
    if abs(skew) > MAX_CLOCK_SKEW_SECONDS:
        return failed(
            name, detail, "synchronize this host's clock (NTP: chrony or systemd-timesyncd)"
        )
    return passed(name, detail)


def _reachable(host: str, port: int) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=NETWORK_TIMEOUT_SECONDS):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def check_smtp(settings: Settings) -> Check:
    name = "smtp"
    host, port = settings.smtp.host, settings.smtp.port
    if not host:
        return Check(name, "skip", "not configured (REMINDERS_SMTP_HOST unset)")
    error = _reachable(host, port)
    if error:
        return failed(
            name,
            f"{host}:{port} unreachable: {error}",
            "check REMINDERS_SMTP_HOST, REMINDERS_SMTP_PORT, the firewall",
        )
    return passed(name, f"{host}:{port} accepts connections")


def check_webhook(settings: Settings) -> Check:
    """Settings already refused a URL that is not http(s); here: does its host:port answer?"""
    name = "webhook"
    if settings.delivery.webhook_url is None:
        return Check(name, "skip", "not configured (REMINDERS_WEBHOOK_URL unset)")
    try:
        parts = urlsplit(settings.delivery.webhook_url.reveal())
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return failed(name, "REMINDERS_WEBHOOK_URL is malformed", "set a http(s):// URL")
    if not parts.hostname:
        return failed(name, "REMINDERS_WEBHOOK_URL has no host", "set a http(s):// URL")
    where = f"{parts.scheme}://{parts.hostname}:{port}"  # no path or credentials: may hold tokens
    error = _reachable(parts.hostname, port)
    if error:
        return failed(name, f"{where} unreachable: {error}", "check REMINDERS_WEBHOOK_URL")
    return passed(name, f"{where} accepts connections")


def check_signing_keys(settings: Settings, fetch: Fetch = fetch_jwks) -> Check:
    """With SUPABASE_URL: does the project publish signing keys we can use (docs/supabase.md)?"""
    name = "signing keys"
    auth = settings.auth
    if auth.jwks_url is None:
        if auth.jwt_secret is None:
            return Check(
                name,
                "skip",
                "neither SUPABASE_URL nor REMINDERS_JWT_SECRET set: user endpoints 401",
            )
        return Check(name, "skip", "SUPABASE_URL unset: only HS256 tokens (the legacy secret)")
    try:
        keys = parse_jwks(fetch(auth.jwks_url))
    except Exception as exc:
        return failed(
            name,
            f"{auth.jwks_url} could not be read: {type(exc).__name__}",
            "check SUPABASE_URL (https://<ref>.supabase.co) and that this host can reach it",
        )
    if not keys:
        if auth.jwt_secret is not None:
            return passed(name, "the project publishes no signing keys; the legacy secret is set")
        return failed(
            name,
            "the project publishes no signing keys and no legacy secret is set",
            "set REMINDERS_JWT_SECRET while the project signs with its legacy JWT secret",
        )
    listed = ", ".join(f"{kid} ({key.algorithm_name})" for kid, key in sorted(keys.items()))
    legacy = "; the legacy secret too" if auth.jwt_secret is not None else ""
    return passed(name, f"{len(keys)} from {auth.jwks_url}: {listed}{legacy}")
