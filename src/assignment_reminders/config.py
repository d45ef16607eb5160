"""Settings, built once from an environment mapping (``os.environ`` by default).

Every setting has one environment variable, read here and nowhere else; tests build
``Settings`` from a plain dict. Settings come in frozen sub-objects, one per concern::

    Settings            database_url, data_dir, batch_size, log_level, log_format, job_name
    ├── auth: AuthSettings          SUPABASE_URL, REMINDERS_JWT_SECRET, REMINDERS_CRON_SECRET
    ├── lock: LockSettings          REMINDERS_LOCK_*
    ├── smtp: SmtpSettings          REMINDERS_SMTP_*  (reminder email and alert email alike)
    ├── delivery: DeliverySettings  REMINDERS_DELIVERY_*, REMINDERS_WEBHOOK_*, REMINDERS_APP_URL
    ├── http: HttpSettings          REMINDERS_HTTP_*, REMINDERS_OPS_TOKEN, REMINDERS_CORS_ORIGINS
    ├── schedule: ScheduleSettings  REMINDERS_SCHEDULE, REMINDERS_SCHEDULE_TZ, REMINDERS_SCHEDULER
    └── monitoring: MonitoringSettings  thresholds, alert sinks, retention

The CLI's options take their defaults from these objects (``cli/options.py``). Numbers are
finite and in range, enumerations are ``Literal`` types, and a malformed value stops the
command with one line naming the variable. Secrets are :class:`Secret`: hidden from ``repr``.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, TypeVar, get_args

import platformdirs
from psycopg.conninfo import conninfo_to_dict

from .exceptions import ConfigurationError

JOB_NAME: Final = "assignment-reminder-cron"

LockScope = Literal["session", "transaction"]
"""``REMINDERS_LOCK_SCOPE``: see docs/adr/0001-lock-scope.md."""
SmtpTls = Literal["starttls", "ssl", "none"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LogFormat = Literal["text", "json"]

LOCK_SCOPES: Final[tuple[LockScope, ...]] = get_args(LockScope)
SMTP_TLS_MODES: Final[tuple[SmtpTls, ...]] = get_args(SmtpTls)
LOG_LEVELS: Final[tuple[LogLevel, ...]] = get_args(LogLevel)
LOG_FORMATS: Final[tuple[LogFormat, ...]] = get_args(LogFormat)
PORTS: Final = (1, 65535)
MAX_COUNT: Final = 10**9
"""Upper bound of counts and sizes: far above any sane value, far below what breaks arithmetic."""
MAX_SECONDS: Final = 7 * 24 * 3600.0

_T = TypeVar("_T", bound=str)


class Secret:
    """A string that hides itself from ``repr`` and ``str``; call :meth:`reveal` to use it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def describe_database_url(url: str) -> str:
    """A printable form of a libpq connection string: host, port and database, no password."""
    try:
        parts = conninfo_to_dict(url)
    except Exception:  # malformed strings are reported elsewhere; never echo them
        return "<unparseable DATABASE_URL>"
    host = str(parts.get("host") or "localhost")
    port = str(parts.get("port") or "5432")
    dbname = str(parts.get("dbname") or parts.get("user") or "")
    user = str(parts.get("user") or "")
    who = f"{user}@" if user else ""
    return f"postgresql://{who}{host}:{port}/{dbname}"


def _shown(raw: str) -> str:
    """A malformed value as an error message may show it: short, printable."""
    text = raw if len(raw) <= 40 else raw[:37] + "..."
    return ascii(text)


def text_problem(raw: str) -> str | None:
    """Why no database, socket or header could carry *raw* (a NUL, or bytes that are not
    UTF-8: from the environment or argv they reach Python as lone surrogates), or None.
    Settings here and the CLI's text options (cli/options.py) say it the same way."""
    if "\x00" in raw:
        return "must not contain a NUL character"
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid UTF-8 text"
    return None


def _checked(name: str, raw: str) -> str:
    """*raw*, refused when it is not text (:func:`text_problem`)."""
    problem = text_problem(raw)
    if problem is not None:
        raise ConfigurationError(f"{name} {problem}")
    return raw


def _text(env: Mapping[str, str], name: str, default: str) -> str:
    raw = _checked(name, env.get(name, "").strip())
    return raw or default


def _int(
    env: Mapping[str, str],
    name: str,
    default: int,
    *,
    minimum: int = 1,
    maximum: int = MAX_COUNT,
) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {_shown(raw)}") from None
    if not minimum <= value <= maximum:
        raise ConfigurationError(f"{name} must be between {minimum} and {maximum}, got {raw}")
    return value


def _seconds(
    env: Mapping[str, str],
    name: str,
    default: float,
    *,
    minimum: float,
    maximum: float = MAX_SECONDS,
) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, got {_shown(raw)}") from None
    if not math.isfinite(value) or not minimum <= value <= maximum:
        raise ConfigurationError(
            f"{name} must be a finite number of seconds between {minimum:g} and {maximum:g},"
            f" got {_shown(raw)}"
        )
    return value


def _choice(env: Mapping[str, str], name: str, choices: tuple[_T, ...], default: _T) -> _T:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    for choice in choices:
        if raw.lower() == choice.lower():
            return choice
    raise ConfigurationError(f"{name} must be one of {', '.join(choices)}; got {_shown(raw)}")


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be true or false, got {_shown(raw)}")


def _secret(env: Mapping[str, str], *names: str) -> Secret | None:
    for name in names:
        value = env.get(name)
        if value:
            return Secret(_checked(name, value))
    return None


SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - the prefix, not a secret
MIN_KEY_BYTES, MAX_KEY_BYTES = 24, 64  # the Standard Webhooks spec's recommended key sizes


def webhook_key(secret: str, *, name: str = "REMINDERS_WEBHOOK_SECRET") -> bytes:
    """The HMAC key inside a ``whsec_`` secret; errors name the variable, never the value."""
    if not secret.startswith(SECRET_PREFIX):
        raise ConfigurationError(
            f"{name} must be a Standard Webhooks secret, 'whsec_' followed by base64"
            " (`reminders webhook-secret` makes one)"
        )
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"{name}: the part after 'whsec_' is not base64") from None
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise ConfigurationError(
            f"{name} must hold {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes of key, got {len(key)}"
        )
    return key


def _url(env: Mapping[str, str], name: str) -> Secret | None:
    url = _secret(env, name)
    if url is not None:
        try:
            conninfo_to_dict(url.reveal())
        except Exception:
            raise ConfigurationError(
                f"{name} is not a valid libpq connection string or URI"
            ) from None
    return url


def _http_url(env: Mapping[str, str], name: str) -> Secret | None:
    """An http(s) URL kept secret (its path or query often is the credential)."""
    url = _secret(env, name)
    if url is not None and not url.reveal().startswith(("http://", "https://")):
        raise ConfigurationError(f"{name} must be an http:// or https:// URL")
    return url


def _role(env: Mapping[str, str], name: str, default: str) -> str:
    role = _text(env, name, default)
    if len(role.encode("utf-8", "replace")) > 63:
        raise ConfigurationError(f"{name} must be a PostgreSQL role name (at most 63 bytes)")
    return role


@dataclass(frozen=True)
class LockSettings:
    """The job's advisory lock (docs/locking.md)."""

    role: str = "service_role"
    scope: LockScope = "session"
    database_url: Secret | None = None
    heartbeat_seconds: float = 5.0
    idle_timeout_seconds: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LockSettings:
        d = cls()
        heartbeat = _seconds(
            env, "REMINDERS_LOCK_HEARTBEAT_SECONDS", d.heartbeat_seconds, minimum=0.1, maximum=3600
        )
        idle_timeout = _seconds(
            env,
            "REMINDERS_LOCK_IDLE_TIMEOUT_SECONDS",
            d.idle_timeout_seconds,
            minimum=1.0,
            maximum=24 * 3600,
        )
        if idle_timeout < 2 * heartbeat:
            raise ConfigurationError(
                "REMINDERS_LOCK_IDLE_TIMEOUT_SECONDS must be at least twice"
                f" REMINDERS_LOCK_HEARTBEAT_SECONDS ({heartbeat:g} s), got {idle_timeout:g} s:"
                " the heartbeat is what keeps the lock session from timing out"
            )
        return cls(
            role=_role(env, "REMINDERS_LOCK_ROLE", d.role),
            scope=_choice(env, "REMINDERS_LOCK_SCOPE", LOCK_SCOPES, d.scope),
            database_url=_url(env, "REMINDERS_LOCK_DATABASE_URL"),
            heartbeat_seconds=heartbeat,
            idle_timeout_seconds=idle_timeout,
        )


@dataclass(frozen=True)
class SmtpSettings:
    """The SMTP server: reminder email and alert email alike (smtp.py). No host: no email."""

    host: str | None = None
    port: int = 587
    tls: SmtpTls = "starttls"
    user: str | None = None
    password: Secret | None = None
    sender: str = "reminders@localhost"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SmtpSettings:
        d = cls()
        tls = _choice(env, "REMINDERS_SMTP_TLS", SMTP_TLS_MODES, d.tls)
        default_port = 465 if tls == "ssl" else d.port
        return cls(
            host=_text(env, "REMINDERS_SMTP_HOST", "") or None,
            port=_int(env, "REMINDERS_SMTP_PORT", default_port, minimum=PORTS[0], maximum=PORTS[1]),
            tls=tls,
            user=_text(env, "REMINDERS_SMTP_USER", "") or None,
            password=_secret(env, "REMINDERS_SMTP_PASSWORD"),
            sender=_text(env, "REMINDERS_SMTP_FROM", d.sender),
        )


@dataclass(frozen=True)
class DeliverySettings:
    """The delivery queue and its channels' non-SMTP settings (docs/delivery.md). A channel
    whose settings are absent is skipped, never an error."""

    app_url: str = "http://localhost:3000"
    webhook_url: Secret | None = None
    webhook_secret: Secret | None = None
    max_attempts: int = 8
    lease_seconds: int = 300
    budget_seconds: int = 60
    batch_size: int = 200
    concurrency: int = 16  # the most messages in flight per channel (adaptive below it)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DeliverySettings:
        d = cls()
        webhook_url = _http_url(env, "REMINDERS_WEBHOOK_URL")
        webhook_secret = _secret(env, "REMINDERS_WEBHOOK_SECRET")
        if webhook_url is not None and webhook_secret is None:
            raise ConfigurationError(
                "REMINDERS_WEBHOOK_URL is set but REMINDERS_WEBHOOK_SECRET is not:"
                " webhooks are signed"
            )
        if webhook_secret is not None:
            webhook_key(webhook_secret.reveal())  # refuse a malformed secret at start-up
        return cls(
            app_url=_text(env, "REMINDERS_APP_URL", d.app_url).rstrip("/"),
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            max_attempts=_int(env, "REMINDERS_DELIVERY_MAX_ATTEMPTS", d.max_attempts, maximum=100),
            lease_seconds=_int(
                env, "REMINDERS_DELIVERY_LEASE_SECONDS", d.lease_seconds, maximum=86400
            ),
            budget_seconds=_int(
                env, "REMINDERS_DELIVERY_BUDGET_SECONDS", d.budget_seconds, minimum=0, maximum=86400
            ),
            batch_size=_int(env, "REMINDERS_DELIVERY_BATCH_SIZE", d.batch_size, maximum=100_000),
            concurrency=_int(env, "REMINDERS_DELIVERY_CONCURRENCY", d.concurrency, maximum=256),
        )


SUPABASE_API_KEY_PREFIXES: Final = ("sb_publishable_", "sb_secret_")
"""Supabase's API keys (not JWTs). They authorize calls to Supabase's own gateway, never to us."""

CRON_SECRET_MIN_LENGTH: Final = 32


@dataclass(frozen=True)
class AuthSettings:
    """Who may call the API (docs/supabase.md, "Keys").

    User tokens are verified with the project's signing keys (the JWKS under ``SUPABASE_URL``)
    and/or the legacy HS256 secret; the cron endpoint also takes a job secret of its own.
    """

    supabase_url: str | None = None
    jwt_secret: Secret | None = None
    cron_secret: Secret | None = None

    @property
    def issuer(self) -> str | None:
        """What the project's auth server writes into ``iss``: ``$SUPABASE_URL/auth/v1``."""
        return f"{self.supabase_url}/auth/v1" if self.supabase_url else None

    @property
    def jwks_url(self) -> str | None:
        return f"{self.issuer}/.well-known/jwks.json" if self.issuer else None

    @property
    def verifies_user_tokens(self) -> bool:
        return self.supabase_url is not None or self.jwt_secret is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AuthSettings:
        return cls(
            supabase_url=_supabase_url(env),
            jwt_secret=_secret(env, "REMINDERS_JWT_SECRET", "SUPABASE_JWT_SECRET"),
            cron_secret=_cron_secret(env),
        )


def _supabase_url(env: Mapping[str, str]) -> str | None:
    raw = _text(env, "SUPABASE_URL", "").rstrip("/")
    if not raw:
        return None
    if not raw.startswith(("https://", "http://")) or "?" in raw or "#" in raw:
        raise ConfigurationError(
            "SUPABASE_URL must be the project's URL, like https://<ref>.supabase.co;"
            f" got {_shown(raw)}"
        )
    return raw


def _cron_secret(env: Mapping[str, str]) -> Secret | None:
    secret = _secret(env, "REMINDERS_CRON_SECRET")
    if secret is None:
        return None
    value = secret.reveal()
    if value.startswith(SUPABASE_API_KEY_PREFIXES) or value.startswith("eyJ"):
        raise ConfigurationError(
            "REMINDERS_CRON_SECRET must be a secret of its own (e.g. `openssl rand -hex 32`),"
            " not a Supabase API key or JWT: nothing else must be able to trigger the job with it"
        )
    if len(value) < CRON_SECRET_MIN_LENGTH or value != value.strip():
        raise ConfigurationError(
            f"REMINDERS_CRON_SECRET must be at least {CRON_SECRET_MIN_LENGTH} characters"
            " without surrounding spaces (e.g. `openssl rand -hex 32`)"
        )
    return secret


def _cors_origins(env: Mapping[str, str]) -> tuple[str, ...]:
    """``REMINDERS_CORS_ORIGINS``: comma-separated ``scheme://host[:port]``, or ``*`` alone."""
    origins = tuple(
        o.strip().rstrip("/")
        for o in _text(env, "REMINDERS_CORS_ORIGINS", "").split(",")
        if o.strip()
    )
    if "*" in origins:
        if len(origins) > 1:
            raise ConfigurationError("REMINDERS_CORS_ORIGINS: '*' cannot be mixed with origins")
        return origins
    for origin in origins:
        scheme, sep, host = origin.partition("://")
        if scheme not in ("http", "https") or not sep or not host or "/" in host or "*" in host:
            raise ConfigurationError(
                "REMINDERS_CORS_ORIGINS must list origins like https://app.example.org"
                f" (scheme and host, no path), or be '*'; got {_shown(origin)}"
            )
    return origins


@dataclass(frozen=True)
class HttpSettings:
    """Where ``reminders serve`` listens, who may read /ops and /metrics, and CORS."""

    host: str = "127.0.0.1"
    port: int = 8000
    ops_token: Secret | None = None  # bearer token for /ops and /metrics (api/ops_auth.py)
    allow_open_ops: bool = False  # serve /ops and /metrics without a token off loopback
    cors_origins: tuple[str, ...] = ()  # browser origins allowed to call the API
    pool_min_size: int = 2  # the API's database connections kept open (api/pool.py)
    pool_max_size: int = 10
    pool_timeout_seconds: float = 5.0  # a request waits this long for a connection, then 503

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> HttpSettings:
        d = cls()
        max_size = _int(env, "REMINDERS_DB_POOL_MAX_SIZE", d.pool_max_size, minimum=1)
        return cls(
            host=_text(env, "REMINDERS_HTTP_HOST", d.host),
            port=_int(env, "REMINDERS_HTTP_PORT", d.port, minimum=PORTS[0], maximum=PORTS[1]),
            ops_token=_secret(env, "REMINDERS_OPS_TOKEN"),
            allow_open_ops=_flag(env, "REMINDERS_ALLOW_OPEN_OPS", d.allow_open_ops),
            cors_origins=_cors_origins(env),
            pool_min_size=_int(
                env,
                "REMINDERS_DB_POOL_MIN_SIZE",
                min(d.pool_min_size, max_size),
                minimum=0,
                maximum=max_size,
            ),
            pool_max_size=max_size,
            pool_timeout_seconds=_seconds(
                env, "REMINDERS_DB_POOL_TIMEOUT_SECONDS", d.pool_timeout_seconds, minimum=0.1
            ),
        )


@dataclass(frozen=True)
class ScheduleSettings:
    """The built-in scheduler of ``reminders serve`` (docs/monitoring.md). The expression is
    parsed, and refused with one line, when ``serve`` starts (monitoring/cron.py)."""

    expression: str = "0 6 * * *"
    time_zone: str = "Europe/Oslo"
    enabled: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ScheduleSettings:
        d = cls()
        return cls(
            expression=_text(env, "REMINDERS_SCHEDULE", d.expression),
            time_zone=_text(env, "REMINDERS_SCHEDULE_TZ", d.time_zone),
            enabled=_flag(env, "REMINDERS_SCHEDULER", d.enabled),
        )


@dataclass(frozen=True)
class MonitoringSettings:
    """Alert thresholds, alert sinks and retention (docs/monitoring.md)."""

    overrun_after_seconds: int = 30 * 60
    # None: a missed run is one the schedule expected (its next fire time after the last
    # success) that has not succeeded missed_grace_seconds later (monitoring/checks.py)
    missed_after_seconds: int | None = None
    missed_grace_seconds: int = 30 * 60
    stuck_after_skips: int = 3
    retention_days: int = 180
    check_interval_seconds: int = 60
    webhook_url: Secret | None = None
    webhook_secret: Secret | None = None  # Standard Webhooks, like reminder webhooks
    email_to: tuple[str, ...] = ()  # sent through the REMINDERS_SMTP_* server (smtp.py)
    ping_url: Secret | None = None  # Healthchecks-style heartbeat (monitoring/ping.py)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MonitoringSettings:
        d = cls()
        day = 86400
        to = _text(env, "REMINDERS_ALERT_EMAIL_TO", "")
        webhook_url = _http_url(env, "REMINDERS_ALERT_WEBHOOK_URL")
        webhook_secret = _secret(env, "REMINDERS_ALERT_WEBHOOK_SECRET")
        if webhook_url is not None and webhook_secret is None:
            raise ConfigurationError(
                "REMINDERS_ALERT_WEBHOOK_URL is set but REMINDERS_ALERT_WEBHOOK_SECRET is not:"
                " alerts are signed (`reminders webhook-secret` makes one)"
            )
        if webhook_secret is not None:
            webhook_key(webhook_secret.reveal(), name="REMINDERS_ALERT_WEBHOOK_SECRET")
        return cls(
            overrun_after_seconds=_int(
                env, "REMINDERS_OVERRUN_AFTER_SECONDS", d.overrun_after_seconds, maximum=7 * day
            ),
            missed_after_seconds=(
                _int(env, "REMINDERS_MISSED_AFTER_SECONDS", 0, maximum=366 * day) or None
            ),
            missed_grace_seconds=_int(
                env,
                "REMINDERS_MISSED_GRACE_SECONDS",
                d.missed_grace_seconds,
                minimum=0,
                maximum=366 * day,
            ),
            stuck_after_skips=_int(
                env, "REMINDERS_STUCK_AFTER_SKIPS", d.stuck_after_skips, maximum=10_000
            ),
            retention_days=_int(
                env, "REMINDERS_RETENTION_DAYS", d.retention_days, maximum=100 * 366
            ),
            check_interval_seconds=_int(
                env, "REMINDERS_CHECK_INTERVAL_SECONDS", d.check_interval_seconds, maximum=day
            ),
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            email_to=tuple(a.strip() for a in to.split(",") if a.strip()),
            ping_url=_http_url(env, "REMINDERS_PING_URL"),
        )


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("assignment-reminders")) / "pgdata"


def _data_dir(env: Mapping[str, str]) -> Path:
    raw = _text(env, "REMINDERS_DATA_DIR", "")
    if not raw:
        return default_data_dir()
    try:
        path = Path(raw).expanduser()
        is_file = path.exists() and not path.is_dir()
    except (OSError, RuntimeError) as exc:  # too long a name, ~nosuchuser ...
        why = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise ConfigurationError(
            f"REMINDERS_DATA_DIR is not a usable path: {_shown(raw)} ({why})"
        ) from None
    if is_file:
        raise ConfigurationError(
            f"REMINDERS_DATA_DIR must be a directory (or not exist yet); {path} is a file"
        )
    return path


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment."""

    database_url: Secret | None = None
    data_dir: Path = field(default_factory=default_data_dir)
    batch_size: int = 20000
    log_level: LogLevel = "INFO"
    log_format: LogFormat = "text"
    job_name: str = JOB_NAME
    auth: AuthSettings = field(default_factory=AuthSettings)
    lock: LockSettings = field(default_factory=LockSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        d = cls()
        return cls(
            database_url=_url(env, "DATABASE_URL"),
            data_dir=_data_dir(env),
            batch_size=_int(env, "REMINDERS_BATCH_SIZE", d.batch_size, maximum=10_000_000),
            log_level=_choice(env, "REMINDERS_LOG_LEVEL", LOG_LEVELS, d.log_level),
            log_format=_choice(env, "REMINDERS_LOG_FORMAT", LOG_FORMATS, d.log_format),
            auth=AuthSettings.from_env(env),
            lock=LockSettings.from_env(env),
            smtp=SmtpSettings.from_env(env),
            delivery=DeliverySettings.from_env(env),
            http=HttpSettings.from_env(env),
            schedule=ScheduleSettings.from_env(env),
            monitoring=MonitoringSettings.from_env(env),
        )

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None

    def describe_database(self) -> str:
        if self.database_url is None:
            return f"embedded PostgreSQL in {self.data_dir}"
        return describe_database_url(self.database_url.reveal())
