"""Settings, built once from an environment mapping (``os.environ`` by default).

Every setting has an environment variable; tests build ``Settings`` from a plain dict.
Secrets are wrapped in :class:`Secret` so they never show in ``repr``, logs or errors.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import platformdirs
from psycopg.conninfo import conninfo_to_dict

from .exceptions import ConfigurationError

JOB_NAME: Final = "assignment-reminder-cron"

LOCK_SCOPES: Final = ("session", "transaction")
"""``REMINDERS_LOCK_SCOPE``: see docs/adr/0001-lock-scope.md."""


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


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {value}")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not value >= minimum:  # also rejects nan
        raise ConfigurationError(f"{name} must be at least {minimum} s, got {raw}")
    return value


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip().lower() or choices[0]
    if raw not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}; got {raw!r}")
    return raw


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


def _secret(env: Mapping[str, str], *names: str) -> Secret | None:
    for name in names:
        value = env.get(name)
        if value:
            return Secret(value)
    return None


@dataclass(frozen=True)
class MonitoringSettings:
    """Alert thresholds, alert sinks and retention (docs/monitoring.md). The built-in schedule
    is an option of ``reminders serve`` (REMINDERS_SCHEDULE, REMINDERS_SCHEDULE_TZ)."""

    overrun_after_seconds: int = 30 * 60
    missed_after_seconds: int = 26 * 3600
    stuck_after_skips: int = 3
    retention_days: int = 180
    check_interval_seconds: int = 60
    webhook_url: Secret | None = None
    email_to: tuple[str, ...] = ()  # sent through the REMINDERS_SMTP_* server (smtp.py)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MonitoringSettings:
        to = env.get("REMINDERS_ALERT_EMAIL_TO", "")
        return cls(
            overrun_after_seconds=_int(env, "REMINDERS_OVERRUN_AFTER_SECONDS", 30 * 60),
            missed_after_seconds=_int(env, "REMINDERS_MISSED_AFTER_SECONDS", 26 * 3600),
            stuck_after_skips=_int(env, "REMINDERS_STUCK_AFTER_SKIPS", 3),
            retention_days=_int(env, "REMINDERS_RETENTION_DAYS", 180),
            check_interval_seconds=_int(env, "REMINDERS_CHECK_INTERVAL_SECONDS", 60),
            webhook_url=_secret(env, "REMINDERS_ALERT_WEBHOOK_URL"),
            email_to=tuple(a.strip() for a in to.split(",") if a.strip()),
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
    raw = env.get("SUPABASE_URL", "").strip().rstrip("/")
    if not raw:
        return None
    if not raw.startswith(("https://", "http://")) or "?" in raw or "#" in raw:
        raise ConfigurationError(
            f"SUPABASE_URL must be the project's URL, like https://<ref>.supabase.co; got {raw!r}"
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
        o.strip().rstrip("/") for o in env.get("REMINDERS_CORS_ORIGINS", "").split(",") if o.strip()
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
                f" (scheme and host, no path), or be '*'; got {origin!r}"
            )
    return origins


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("assignment-reminders")) / "pgdata"


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment."""

    database_url: Secret | None = None
    data_dir: Path = field(default_factory=default_data_dir)
    auth: AuthSettings = field(default_factory=AuthSettings)
    batch_size: int = 20000
    job_name: str = JOB_NAME
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    ops_token: Secret | None = None  # bearer token for /ops and /metrics (api/ops_auth.py)
    cors_origins: tuple[str, ...] = ()  # browser origins allowed to call the API
    lock_role: str = "service_role"
    lock_scope: str = "session"
    lock_database_url: Secret | None = None
    lock_heartbeat_seconds: float = 5.0
    lock_idle_timeout_seconds: float = 30.0
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)
    # Delivery (docs/delivery.md). A channel whose settings are absent is skipped, never an error.
    # The SMTP settings serve reminder email and alert email alike (smtp.py).
    app_url: str = "http://localhost:3000"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_tls: str = "starttls"
    smtp_user: str | None = None
    smtp_password: Secret | None = None
    smtp_from: str = "reminders@localhost"
    webhook_url: Secret | None = None
    webhook_secret: Secret | None = None
    delivery_max_attempts: int = 8
    delivery_lease_seconds: int = 300
    delivery_budget_seconds: int = 60
    delivery_batch_size: int = 200
    delivery_concurrency: int = 8

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        url = _url(env, "DATABASE_URL")
        heartbeat = _seconds(env, "REMINDERS_LOCK_HEARTBEAT_SECONDS", 5.0, minimum=0.1)
        idle_timeout = _seconds(env, "REMINDERS_LOCK_IDLE_TIMEOUT_SECONDS", 30.0, minimum=1.0)
        if idle_timeout < 2 * heartbeat:
            raise ConfigurationError(
                "REMINDERS_LOCK_IDLE_TIMEOUT_SECONDS must be at least twice"
                f" REMINDERS_LOCK_HEARTBEAT_SECONDS ({heartbeat:g} s), got {idle_timeout:g} s:"
                " the heartbeat is what keeps the lock session from timing out"
            )
        data_dir = env.get("REMINDERS_DATA_DIR")
        return cls(
            database_url=url,
            data_dir=Path(data_dir).expanduser() if data_dir else default_data_dir(),
            auth=AuthSettings.from_env(env),
            batch_size=_int(env, "REMINDERS_BATCH_SIZE", 20000),
            http_host=env.get("REMINDERS_HTTP_HOST", "127.0.0.1"),
            http_port=_int(env, "REMINDERS_HTTP_PORT", 8000),
            ops_token=_secret(env, "REMINDERS_OPS_TOKEN"),
            cors_origins=_cors_origins(env),
            lock_role=env.get("REMINDERS_LOCK_ROLE", "service_role"),
            lock_scope=_choice(env, "REMINDERS_LOCK_SCOPE", LOCK_SCOPES),
            lock_database_url=_url(env, "REMINDERS_LOCK_DATABASE_URL"),
            lock_heartbeat_seconds=heartbeat,
            lock_idle_timeout_seconds=idle_timeout,
            monitoring=MonitoringSettings.from_env(env),
            **_delivery_settings(env),
        )

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None

    def describe_database(self) -> str:
        if self.database_url is None:
            return f"embedded PostgreSQL in {self.data_dir}"
        return describe_database_url(self.database_url.reveal())


SMTP_TLS_MODES: Final = ("starttls", "ssl", "none")


def _delivery_settings(env: Mapping[str, str]) -> dict[str, Any]:
    tls = env.get("REMINDERS_SMTP_TLS", "starttls").strip().lower()
    if tls not in SMTP_TLS_MODES:
        raise ConfigurationError(
            f"REMINDERS_SMTP_TLS must be one of {', '.join(SMTP_TLS_MODES)}, got {tls!r}"
        )
    webhook_url = _secret(env, "REMINDERS_WEBHOOK_URL")
    webhook_secret = _secret(env, "REMINDERS_WEBHOOK_SECRET")
    if webhook_url is not None and webhook_secret is None:
        raise ConfigurationError(
            "REMINDERS_WEBHOOK_URL is set but REMINDERS_WEBHOOK_SECRET is not: webhooks are signed"
        )
    if webhook_url is not None and not webhook_url.reveal().startswith(("http://", "https://")):
        raise ConfigurationError("REMINDERS_WEBHOOK_URL must be an http:// or https:// URL")
    if webhook_secret is not None:
        from .delivery.signing import webhook_key

        webhook_key(webhook_secret.reveal())  # refuse a malformed secret at start-up
    return {
        "app_url": env.get("REMINDERS_APP_URL", "http://localhost:3000").rstrip("/"),
        "smtp_host": env.get("REMINDERS_SMTP_HOST") or None,
        "smtp_port": _int(env, "REMINDERS_SMTP_PORT", 465 if tls == "ssl" else 587),
        "smtp_tls": tls,
        "smtp_user": env.get("REMINDERS_SMTP_USER") or None,
        "smtp_password": _secret(env, "REMINDERS_SMTP_PASSWORD"),
        "smtp_from": env.get("REMINDERS_SMTP_FROM", "reminders@localhost"),
        "webhook_url": webhook_url,
        "webhook_secret": webhook_secret,
        "delivery_max_attempts": _int(env, "REMINDERS_DELIVERY_MAX_ATTEMPTS", 8),
        "delivery_lease_seconds": _int(env, "REMINDERS_DELIVERY_LEASE_SECONDS", 300),
        "delivery_budget_seconds": _int(env, "REMINDERS_DELIVERY_BUDGET_SECONDS", 60, minimum=0),
        "delivery_batch_size": _int(env, "REMINDERS_DELIVERY_BATCH_SIZE", 200),
        "delivery_concurrency": _int(env, "REMINDERS_DELIVERY_CONCURRENCY", 8),
    }
