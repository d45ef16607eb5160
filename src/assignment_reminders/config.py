"""Settings, built once from an environment mapping (``os.environ`` by default).

Each setting is declared once, as a field of a frozen settings class carrying a :class:`Setting`
(variable, kind, default, help). Parsing, the CLI's options and their ``--help`` (cli/options.py)
and the table in docs/configuration.md (cli/settings_doc.py) all read :data:`SETTINGS`. Tests build
``Settings`` from a plain dict. A malformed value stops the command with one line naming the
variable and the rule; secrets are :class:`Secret`, hidden from ``repr``.
"""

# ruff: noqa: RUF009  (``_s(...)(help)`` returns a dataclasses.field: no shared default)
from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Final, Literal, NoReturn, Self, get_args

import platformdirs
from psycopg.conninfo import conninfo_to_dict

from .exceptions import ConfigurationError

JOB_NAME: Final = "assignment-reminder-cron"
LockScope = Literal["session", "transaction"]  # see docs/adr/0001-lock-scope.md
SmtpTls = Literal["starttls", "ssl", "none"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LogFormat = Literal["text", "json"]
LOG_LEVELS: Final[tuple[LogLevel, ...]] = get_args(LogLevel)
LOG_FORMATS: Final[tuple[LogFormat, ...]] = get_args(LogFormat)
MAX_COUNT: Final = 10**9  # far above any sane count, far below what breaks arithmetic
DAY: Final = 86400
RENAMED: Final = {"REMINDERS_SCHEDULER": "REMINDERS_BUILTIN_CRON"}  # refused, naming the new
SUPABASE_API_KEY_PREFIXES: Final = ("sb_publishable_", "sb_secret_")  # Supabase's, never ours
CRON_SECRET_MIN_LENGTH: Final = 32


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
    return f"postgresql://{user + '@' if user else ''}{host}:{port}/{dbname}"


def text_problem(raw: str) -> str | None:
    """Why no database, socket or header could carry *raw* (a NUL, or bytes that are not UTF-8:
    from the environment or argv they reach Python as lone surrogates), or None. Settings and the
    CLI's text options (cli/options.py) say it the same way."""
    if "\x00" in raw:
        return "must not contain a NUL character"
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid UTF-8 text"
    return None


def _shown(raw: str) -> str:
    """A malformed value as an error message may show it: short, printable."""
    return ascii(raw if len(raw) <= 40 else raw[:37] + "...")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _fail(message: str) -> NoReturn:
    raise ConfigurationError(message)


# --- Kinds: how a variable's text becomes a value ------------------------------------------------
# Each parser gets the setting and its text (stripped unless secret, non-empty, checked to be text
# unless the kind states its own rule) and returns the value or fails with one line.


@dataclass(frozen=True)
class Kind:
    label: str  # its type in the docs, with ``{lo}``, ``{hi}`` and ``{choices}`` filled in
    parse: Callable[[Setting, str], Any]
    secret: bool = False
    text: bool = True


def _number(s: Setting, raw: str) -> float:
    """INT and SECONDS: a number within the setting's bounds."""
    whole = s.kind is INT
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        noun = "a whole number" if whole else "a number of seconds"
        _fail(f"{s.env} must be {noun}, got {_shown(raw)}")
    if not s.lo <= value <= s.hi:  # nan and inf fail this too
        between = f"between {_num(s.lo)} and {_num(s.hi)}"
        if whole:
            _fail(f"{s.env} must be {between}, got {raw}")
        _fail(f"{s.env} must be a finite number of seconds {between}, got {_shown(raw)}")
    return value


def _choice(s: Setting, raw: str) -> str:
    found = [c for c in s.choices if c.lower() == raw.lower()]
    return found[0] if found else _fail(f"{s.env} must be {s.kind_label()}; got {_shown(raw)}")


def _flag(s: Setting, raw: str) -> bool:
    word = raw.lower()
    if word not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        _fail(f"{s.env} must be true or false, got {_shown(word)}")
    return word in ("1", "true", "yes", "on")


def _libpq(s: Setting, raw: str) -> Secret:
    try:
        conninfo_to_dict(raw)
    except Exception:
        _fail(f"{s.env} is not a valid libpq connection string or URI")
    return Secret(raw)


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


def _http_url(s: Setting, raw: str) -> Secret:
    if not raw.startswith(("http://", "https://")):
        _fail(f"{s.env} must be an http:// or https:// URL")
    return Secret(raw)  # kept secret: its path or query often is the credential


def _role(s: Setting, raw: str) -> str:
    if len(raw.encode("utf-8", "replace")) > 63:
        _fail(f"{s.env} must be a PostgreSQL role name (at most 63 bytes)")
    return raw


def _site(what: str, example: str) -> Callable[[Setting, str], str]:
    """An http(s) address that paths are appended to: no query, no fragment, no trailing /."""

    def parse(s: Setting, raw: str) -> str:
        url = raw.rstrip("/")
        scheme, sep, host = url.partition("://")
        if scheme not in ("http", "https") or not sep or not host or "?" in url or "#" in url:
            _fail(f"{s.env} must be {what}, like {example}; got {_shown(url)}")
        return url

    return parse


def _cron_secret(s: Setting, raw: str) -> Secret:
    if raw.startswith(SUPABASE_API_KEY_PREFIXES) or raw.startswith("eyJ"):
        _fail(
            f"{s.env} must be a secret of its own (e.g. `openssl rand -hex 32`), not a Supabase"
            " API key or JWT: nothing else must be able to trigger the job with it"
        )
    if len(raw) < CRON_SECRET_MIN_LENGTH or raw != raw.strip():
        _fail(
            f"{s.env} must be at least {CRON_SECRET_MIN_LENGTH} characters without surrounding"
            " spaces (e.g. `openssl rand -hex 32`)"
        )
    return Secret(raw)


def _list(s: Setting, raw: str) -> tuple[str, ...]:
    return tuple(a.strip() for a in raw.split(",") if a.strip())


# a plain address (no display name, no spaces): REMINDERS_SMTP_FROM is SMTP's envelope sender too
_ADDRESS: Final = re.compile(r"[^@\s<>\"';,]+@[^@\s<>\"';,]+")


def _address(s: Setting, raw: str) -> str:
    if not _ADDRESS.fullmatch(raw):
        _fail(f"{s.env} must be a plain email address like ops@example.org; got {_shown(raw)}")
    return raw


def _addresses(s: Setting, raw: str) -> tuple[str, ...]:
    return tuple(_address(s, a) for a in _list(s, raw))


def _origins(s: Setting, raw: str) -> tuple[str, ...]:
    origins = tuple(o.rstrip("/") for o in _list(s, raw))
    if "*" in origins and len(origins) > 1:
        _fail(f"{s.env}: '*' cannot be mixed with origins")
    for origin in () if "*" in origins else origins:
        scheme, sep, host = origin.partition("://")
        if scheme not in ("http", "https") or not sep or not host or "/" in host or "*" in host:
            _fail(
                f"{s.env} must list origins like https://app.example.org (scheme and host,"
                f" no path), or be '*'; got {_shown(origin)}"
            )
    return origins


def _directory(s: Setting, raw: str) -> Path:
    try:
        path = Path(raw).expanduser()
        is_file = path.exists() and not path.is_dir()
    except (OSError, RuntimeError) as exc:  # too long a name, ~nosuchuser ...
        why = exc.strerror if isinstance(exc, OSError) else str(exc)
        _fail(f"{s.env} is not a usable path: {_shown(raw)} ({why})")
    if is_file:
        _fail(f"{s.env} must be a directory (or not exist yet); {path} is a file")
    return path


TEXT = Kind("text", lambda s, raw: raw)
APP_URL = Kind("http(s) URL", _site("the app's address", "https://app.example.org"))
ADDRESS = Kind("email address", _address)
ADDRESSES = Kind("comma-separated email addresses", _addresses)
INT = Kind("whole number {lo} to {hi}", _number, text=False)
SECONDS = Kind("seconds, {lo} to {hi}", _number, text=False)
CHOICE = Kind("one of {choices}", _choice, text=False)
FLAG = Kind("true or false", _flag, text=False)
ROLE = Kind("role name, ≤ 63 bytes", _role)
DIRECTORY = Kind("directory path", _directory)
ORIGINS = Kind("comma-separated origins, or *", _origins)
PROJECT_URL = Kind(
    "https://<ref>.supabase.co", _site("the project's URL", "https://<ref>.supabase.co")
)
SECRET = Kind("secret", lambda s, raw: Secret(raw), secret=True)
LIBPQ = Kind("libpq URI or key=value (secret)", _libpq, secret=True)
HTTP_URL = Kind("http(s) URL (secret)", _http_url, secret=True)
CRON_SECRET = Kind("secret, ≥ 32 characters", _cron_secret, secret=True)
UNSET: Final = object()


@dataclass(frozen=True)
class Setting:
    """One environment variable: everything about it that is not code."""

    env: str
    kind: Kind
    help: str
    default: object = None
    lo: float = 1
    hi: float = MAX_COUNT
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # read, in order, when env is unset
    shown: str | None = None  # the default as docs and --help say it, when not `default`
    hi_from: str | None = None  # the variable whose value is the upper bound

    def kind_label(self) -> str:
        hi = self.hi_from or _num(self.hi)
        return self.kind.label.format(lo=_num(self.lo), hi=hi, choices=", ".join(self.choices))

    def shown_default(self) -> str:
        d = self.default
        if self.shown is not None or d in (None, ()):
            return self.shown or "unset"
        if isinstance(d, bool):
            return str(d).lower()
        return _num(d) if isinstance(d, float) else str(d)

    def read(self, env: Mapping[str, str]) -> object:
        """The value from *env*, or :data:`UNSET` when no variable of it is set."""
        for name in (self.env, *self.aliases):
            raw = env.get(name, "")
            raw = raw if self.kind.secret else raw.strip()
            if self.kind.text and (problem := text_problem(raw)):
                _fail(f"{name} {problem}")
            if raw:
                return self.kind.parse(replace(self, env=name), raw)
        return UNSET


def _s(env: str, kind: Kind, default: Any = None, **more: Any) -> Callable[[str], Any]:
    """A settings field declared by its :class:`Setting`: ``_s(env, kind, default)(help)``; a
    ``factory=`` makes the default instead (docs and ``--help`` then say ``shown``)."""
    factory = more.pop("factory", None)

    def declare(help: str) -> Any:
        meta = {"setting": Setting(env, kind, help, default, **more)}
        if factory is not None:
            return field(default_factory=factory, metadata=meta)
        return field(default=default, metadata=meta)

    return declare


def _declared(cls: type) -> dict[str, Setting]:
    return {f.name: f.metadata["setting"] for f in fields(cls) if "setting" in f.metadata}


def _sections(cls: type) -> dict[str, type[_FromEnv]]:
    """The fields of *cls* that are settings classes of their own (``Settings.http`` ...)."""
    made: dict[str, object] = {f.name: f.default_factory for f in fields(cls)}
    return {k: v for k, v in made.items() if isinstance(v, type) and issubclass(v, _FromEnv)}


class _FromEnv:
    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """The settings *env* sets, the rest at their defaults; sections read in field order."""
        values: dict[str, Any] = {}
        settings = _declared(cls).items()
        for name, declared in sorted(settings, key=lambda item: item[1].hi_from is not None):
            s = declared
            if s.hi_from is not None:  # bounded by another setting of the class, read first
                top = next(name for name, t in settings if t.env == s.hi_from)
                s = replace(s, hi=values.get(top, getattr(cls, top)))
            if (value := s.read(env)) is not UNSET:
                values[name] = value
        values.update((name, section.from_env(env)) for name, section in _sections(cls).items())
        return cls(**cls._derive(values))

    @classmethod
    def _derive(cls, values: dict[str, Any]) -> dict[str, Any]:
        """Rules between settings: *values* holds the ones set."""
        return values


def _signed(cls: type, values: dict[str, Any], why: str) -> dict[str, Any]:
    """A webhook URL needs its signing secret, which must be a Standard Webhooks one."""
    url, secret = (_declared(cls)[name] for name in ("webhook_url", "webhook_secret"))
    if values.get("webhook_url") is not None and values.get("webhook_secret") is None:
        _fail(f"{url.env} is set but {secret.env} is not: {why}")
    if (key := values.get("webhook_secret")) is not None:
        webhook_key(key.reveal(), name=secret.env)  # refuse a malformed secret at start-up
    return values


@dataclass(frozen=True)
class AuthSettings(_FromEnv):
    """Who may call the API (docs/supabase.md, "Keys")."""

    supabase_url: str | None = _s("SUPABASE_URL", PROJECT_URL)(
        "the project's URL: user tokens are verified with its signing keys (JWKS)"
    )
    jwt_secret: Secret | None = _s(
        "REMINDERS_JWT_SECRET", SECRET, aliases=("SUPABASE_JWT_SECRET",)
    )("the legacy HS256 JWT secret; with no SUPABASE_URL either, user endpoints answer 401")
    cron_secret: Secret | None = _s("REMINDERS_CRON_SECRET", CRON_SECRET)(
        "the cron endpoint's own secret (`openssl rand -hex 32`; not a Supabase key)"
    )

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


@dataclass(frozen=True)
class LockSettings(_FromEnv):
    """The job's advisory lock (docs/locking.md)."""

    role: str = _s("REMINDERS_LOCK_ROLE", ROLE, "service_role")(
        "role the lock connection switches to (`SET ROLE`) when the login may"
    )
    scope: LockScope = _s("REMINDERS_LOCK_SCOPE", CHOICE, "session", choices=get_args(LockScope))(
        "which advisory lock (docs/adr/0001-lock-scope.md)"
    )
    database_url: Secret | None = _s("REMINDERS_LOCK_DATABASE_URL", LIBPQ, shown="DATABASE_URL")(
        "where the lock connection goes"
    )
    heartbeat_seconds: float = _s(
        "REMINDERS_LOCK_HEARTBEAT_SECONDS", SECONDS, 5.0, lo=0.1, hi=3600
    )("how often the lock connection confirms the lock")
    idle_timeout_seconds: float = _s("REMINDERS_LOCK_IDLE_TIMEOUT_SECONDS", SECONDS, 30.0, hi=DAY)(
        "a hung holder loses the lock after this; at least twice the heartbeat"
    )

    @classmethod
    def _derive(cls, values: dict[str, Any]) -> dict[str, Any]:
        heartbeat = values.get("heartbeat_seconds", cls.heartbeat_seconds)
        idle = values.get("idle_timeout_seconds", cls.idle_timeout_seconds)
        if idle < 2 * heartbeat:
            _fail(
                "REMINDERS_LOCK_IDLE_TIMEOUT_SECONDS must be at least twice"
                f" REMINDERS_LOCK_HEARTBEAT_SECONDS ({heartbeat:g} s), got {idle:g} s:"
                " the heartbeat is what keeps the lock session from timing out"
            )
        return values


@dataclass(frozen=True)
class SmtpSettings(_FromEnv):
    """The SMTP server: reminder email and alert email alike (smtp.py). No host: no email."""

    host: str | None = _s("REMINDERS_SMTP_HOST", TEXT)(
        "the SMTP server of reminder and alert email; unset: no email"
    )
    port: int = _s("REMINDERS_SMTP_PORT", INT, 587, hi=65535, shown="587 (465 with ssl)")(
        "SMTP port"
    )
    tls: SmtpTls = _s("REMINDERS_SMTP_TLS", CHOICE, "starttls", choices=get_args(SmtpTls))(
        "how the SMTP connection is encrypted"
    )
    user: str | None = _s("REMINDERS_SMTP_USER", TEXT)("SMTP login, if the server wants one")
    password: Secret | None = _s("REMINDERS_SMTP_PASSWORD", SECRET)("SMTP password")
    sender: str = _s("REMINDERS_SMTP_FROM", ADDRESS, "reminders@localhost")(
        "the From address of email"
    )

    @classmethod
    def _derive(cls, values: dict[str, Any]) -> dict[str, Any]:
        if values.get("tls") == "ssl":
            values.setdefault("port", 465)
        return values


@dataclass(frozen=True)
class DeliverySettings(_FromEnv):
    """The delivery queue and its channels' non-SMTP settings (docs/delivery.md). A channel
    whose settings are absent is skipped, never an error."""

    app_url: str = _s("REMINDERS_APP_URL", APP_URL, "http://localhost:3000")(
        "the app's address, for links in messages"
    )
    webhook_url: Secret | None = _s("REMINDERS_WEBHOOK_URL", HTTP_URL)(
        "the reminder webhook; unset: no webhook channel"
    )
    webhook_secret: Secret | None = _s("REMINDERS_WEBHOOK_SECRET", SECRET)(
        "its Standard Webhooks `whsec_` signing secret (`reminders webhook-secret`)"
    )
    max_attempts: int = _s("REMINDERS_DELIVERY_MAX_ATTEMPTS", INT, 8, hi=100)(
        "attempts before a delivery is given up"
    )
    # at least twice (a channel's longest send, 10 s, + the 1 s margin): delivery/service.py
    # refuses less, and tests/unit/test_config.py keeps the two the same
    lease_seconds: int = _s("REMINDERS_DELIVERY_LEASE_SECONDS", INT, 300, lo=22, hi=DAY)(
        "how long a worker's claim lasts, kept alive while held"
    )
    budget_seconds: int = _s("REMINDERS_DELIVERY_BUDGET_SECONDS", INT, 60, lo=0, hi=DAY)(
        "how long a cron call goes on delivering after its run"
    )
    batch_size: int = _s("REMINDERS_DELIVERY_BATCH_SIZE", INT, 200, hi=10**5)(
        "deliveries claimed per round"
    )
    concurrency: int = _s("REMINDERS_DELIVERY_CONCURRENCY", INT, 16, hi=256)(
        "the most messages in flight, and connections open, per channel; the sender adapts below it"
    )

    @classmethod
    def _derive(cls, values: dict[str, Any]) -> dict[str, Any]:
        return _signed(cls, values, "webhooks are signed")


@dataclass(frozen=True)
class HttpSettings(_FromEnv):
    """Where ``reminders serve`` listens, who may read /ops and /metrics, and CORS."""

    host: str = _s("REMINDERS_HTTP_HOST", TEXT, "127.0.0.1")("address `reminders serve` listens on")
    port: int = _s("REMINDERS_HTTP_PORT", INT, 8000, hi=65535)("port `reminders serve` listens on")
    ops_token: Secret | None = _s("REMINDERS_OPS_TOKEN", SECRET)(
        "the token /ops and /metrics require; unset: serve refuses a non-loopback address"
    )
    allow_open_ops: bool = _s("REMINDERS_ALLOW_OPEN_OPS", FLAG, False)(
        "listen off loopback without REMINDERS_OPS_TOKEN, leaving /ops and /metrics open"
    )
    cors_origins: tuple[str, ...] = _s("REMINDERS_CORS_ORIGINS", ORIGINS, ())(
        "browser origins allowed to call the API (never with credentials)"
    )
    pool_min_size: int = _s(
        "REMINDERS_DB_POOL_MIN_SIZE", INT, 2, lo=0, hi_from="REMINDERS_DB_POOL_MAX_SIZE"
    )("database connections the API keeps open")
    pool_max_size: int = _s("REMINDERS_DB_POOL_MAX_SIZE", INT, 10)(
        "the most the API opens (also its threads that register activities)"
    )
    pool_timeout_seconds: float = _s(
        "REMINDERS_DB_POOL_TIMEOUT_SECONDS", SECONDS, 5.0, lo=0.1, hi=7 * DAY
    )("how long a request waits for a connection before it is answered 503")

    @classmethod
    def _derive(cls, values: dict[str, Any]) -> dict[str, Any]:
        top = values.get("pool_max_size", cls.pool_max_size)
        values.setdefault("pool_min_size", min(cls.pool_min_size, top))
        return values


@dataclass(frozen=True)
class ScheduleSettings(_FromEnv):
    """The built-in cron of ``reminders serve`` (docs/monitoring.md). The expression is
    parsed, and refused with one line, when ``serve`` starts (monitoring/cron.py)."""

    expression: str = _s("REMINDERS_SCHEDULE", TEXT, "0 6 * * *")(
        "cron expression (5 fields) the built-in cron runs the job on"
    )
    time_zone: str = _s("REMINDERS_SCHEDULE_TZ", TEXT, "Europe/Oslo")(
        "IANA time zone the schedule is read in"
    )
    enabled: bool = _s("REMINDERS_BUILTIN_CRON", FLAG, True)(
        "run the job on the schedule and the monitoring checks in `reminders serve`"
    )


@dataclass(frozen=True)
class MonitoringSettings(_FromEnv):
    """Alert thresholds, alert sinks and retention (docs/monitoring.md)."""

    overrun_after_seconds: int = _s("REMINDERS_OVERRUN_AFTER_SECONDS", INT, 1800, hi=7 * DAY)(
        "a run still going after this is alerted as overrunning"
    )
    missed_after_seconds: int | None = _s("REMINDERS_MISSED_AFTER_SECONDS", INT, hi=366 * DAY)(
        "a fixed missed-run limit from the last success; unset: the schedule's"
    )
    missed_grace_seconds: int = _s("REMINDERS_MISSED_GRACE_SECONDS", INT, 1800, lo=0, hi=366 * DAY)(
        "a run is missed this long after the schedule expected it"
    )
    stuck_after_skips: int = _s("REMINDERS_STUCK_AFTER_SKIPS", INT, 3, hi=10**4)(
        "skipped runs in a row alerted as a stuck lock"
    )
    retention_days: int = _s("REMINDERS_RETENTION_DAYS", INT, 180, hi=36600)(
        "days of run log and alerts kept"
    )
    check_interval_seconds: int = _s("REMINDERS_CHECK_INTERVAL_SECONDS", INT, 60, hi=DAY)(
        "how often `reminders serve` runs the monitoring checks"
    )
    webhook_url: Secret | None = _s("REMINDERS_ALERT_WEBHOOK_URL", HTTP_URL)(
        "the alert webhook (Slack-compatible)"
    )
    webhook_secret: Secret | None = _s("REMINDERS_ALERT_WEBHOOK_SECRET", SECRET)(
        "its `whsec_` signing secret"
    )
    email_to: tuple[str, ...] = _s("REMINDERS_ALERT_EMAIL_TO", ADDRESSES, ())(
        "alert email recipients, through the REMINDERS_SMTP_* server"
    )
    ping_url: Secret | None = _s("REMINDERS_PING_URL", HTTP_URL)(
        "Healthchecks-style heartbeat: /start, success and /fail pings per run"
    )

    @classmethod
    def _derive(cls, values: dict[str, Any]) -> dict[str, Any]:
        return _signed(cls, values, "alerts are signed (`reminders webhook-secret` makes one)")


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("assignment-reminders")) / "pgdata"


@dataclass(frozen=True)
class Settings(_FromEnv):
    """Everything the service reads from its environment, in one frozen object per concern."""

    database_url: Secret | None = _s("DATABASE_URL", LIBPQ)(
        "the database; unset: the embedded PostgreSQL (laptops and demos)"
    )
    data_dir: Path = _s(
        "REMINDERS_DATA_DIR", DIRECTORY, factory=default_data_dir, shown="user data dir + /pgdata"
    )("data directory of the embedded PostgreSQL")
    batch_size: int = _s("REMINDERS_BATCH_SIZE", INT, 20000, hi=10**7)(
        "due reminders per transaction of the reminder pass"
    )
    log_level: LogLevel = _s("REMINDERS_LOG_LEVEL", CHOICE, "INFO", choices=LOG_LEVELS)(
        "least severe log line written"
    )
    log_format: LogFormat = _s("REMINDERS_LOG_FORMAT", CHOICE, "text", choices=LOG_FORMATS)(
        "text, or json: one JSON object per stderr line (time, level, logger, message, run_id ...)"
    )
    job_name: str = JOB_NAME
    auth: AuthSettings = field(default_factory=AuthSettings)
    lock: LockSettings = field(default_factory=LockSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        env = os.environ if env is None else env
        for old, new in RENAMED.items():
            if env.get(old, "").strip():
                _fail(f"{old} was renamed {new}")
        return super().from_env(env)

    @classmethod
    def _derive(cls, values: dict[str, Any]) -> dict[str, Any]:
        if values["monitoring"].email_to and values["smtp"].host is None:
            _fail(
                "REMINDERS_ALERT_EMAIL_TO is set but REMINDERS_SMTP_HOST is not: alert email goes"
                " through the REMINDERS_SMTP_* server"
            )
        return values

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None

    def describe_database(self) -> str:
        if self.database_url is None:
            return f"embedded PostgreSQL in {self.data_dir}"
        return describe_database_url(self.database_url.reveal())


def declared() -> Iterator[tuple[str, Setting]]:
    """Every setting, as ``(path, setting)``: ``("http.port", ...)``, in declaration order."""
    yield from _declared(Settings).items()
    for name, section in _sections(Settings).items():
        yield from ((f"{name}.{key}", s) for key, s in _declared(section).items())


SETTINGS: Final = dict(declared())
