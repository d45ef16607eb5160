"""Logging: one configuration for our lines and uvicorn's, as text or as JSON lines.

``REMINDERS_LOG_FORMAT=json`` makes every line on stderr one JSON object::

    {"time": "2026-11-30T06:00:00.123Z", "level": "INFO",
     "logger": "assignment_reminders.job.trigger", "message": "reminder pass done: ...",
     "run_id": 42, "invocation_id": "6f1c..."}

``run_id`` and ``invocation_id`` are there for every line logged within a run (on the thread
running it): :func:`log_context` binds them. uvicorn's error and access loggers propagate to the
same handler (``serve`` passes ``log_config=None``), so they come out in the same format; access
lines also carry ``client``, ``method``, ``path`` and ``status``. The text format is the
familiar ``time LEVEL logger: message``, with ``run_id=… invocation_id=…`` appended in a run.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final

FIELDS: Final = "reminders_fields"
"""``logger.info(..., extra={FIELDS: {...}})``: fields of one line (a JSON line carries them)."""
UVICORN_LOGGERS: Final = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")

_context: ContextVar[dict[str, Any]] = ContextVar("reminders_log_context", default={})  # noqa: B039 - never mutated


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add *fields* to every line logged in this block (and :func:`bind` calls within it)."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def bind(**fields: Any) -> None:
    """Add *fields* from here to the end of the enclosing :func:`log_context` block."""
    _context.set({**_context.get(), **fields})


class ContextFilter(logging.Filter):
    """Copies the bound fields onto each record (``record.context``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.context = _context.get()
        return True


class SupersededDriverWarnings(logging.Filter):
    """Drops psycopg's "error ignored terminating" warning. psycopg logs it while an error is
    already leaving a COPY or a pipeline (the database went away mid-COPY: cleaning up failed
    too), and that first error is what the command reports, in its one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.name == "psycopg" and str(record.msg).startswith("error ignored terminating")
        )


def _access_fields(record: logging.LogRecord) -> dict[str, Any]:
    """uvicorn's access line is ``'%s - "%s %s HTTP/%s" %d'`` over these five arguments."""
    args = record.args
    if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
        client, method, path, _version, status = args
        return {"client": client, "method": method, "path": path, "status": status}
    return {}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(getattr(record, "context", {}))
        data.update(getattr(record, FIELDS, {}))
        data.update(_access_fields(record))
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context: dict[str, Any] = getattr(record, "context", {})
        if not context:
            return line
        first, newline, rest = line.partition("\n")
        suffix = " ".join(f"{k}={v}" for k, v in context.items())
        return f"{first} [{suffix}]{newline}{rest}"


_json_errors = False


def error_line(message: str) -> str:
    """The command's last word on a failure, in the configured format: ``error: ...`` as text,
    or one JSON object (level ERROR) so that every stderr line parses the same way."""
    if not _json_errors:
        return f"error: {message}"
    record = logging.LogRecord(
        "assignment_reminders.cli", logging.ERROR, "", 0, message, None, None
    )
    return JsonFormatter().format(record)


def format_from_env(env: Mapping[str, str]) -> str:
    """``REMINDERS_LOG_FORMAT`` as far as it can be read without the settings (they may be
    what is malformed): ``json`` when it says so, else ``text``."""
    return "json" if env.get("REMINDERS_LOG_FORMAT", "").strip().lower() == "json" else "text"


def json_errors() -> bool:
    """Whether the command's error line is said as JSON."""
    return _json_errors


def errors_as(log_format: str) -> None:
    """Before logging is configured (a malformed environment, a usage error): say the
    command's error line in *log_format*."""
    global _json_errors  # noqa: PLW0603 - the process's one logging configuration
    _json_errors = log_format == "json"


def configure_logging(level: str, log_format: str = "text") -> None:
    """One stderr handler on the root logger; uvicorn's loggers hand their lines to it."""
    global _json_errors  # noqa: PLW0603 - the process's one logging configuration
    _json_errors = log_format == "json"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    handler.addFilter(SupersededDriverWarnings())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper()))
    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
