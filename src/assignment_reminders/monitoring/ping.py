"""Heartbeat pings, Healthchecks.io style (``REMINDERS_PING_URL``; Cronitor and others accept it).

A run that takes the lock pings ``<url>/start``; when it ends, ``<url>`` on success or
``<url>/fail`` on failure, each with ``?rid=<invocation_id>`` so the monitor pairs start and end
and measures the duration. A run that could not start (database unreachable) pings ``/fail``
alone. A run skipped because another one holds the lock pings nothing: the holder reports, and a
lock that stays stuck shows as a missing ping. The body is one short line without row values.

A ping never fails the run: a short timeout, one attempt, and a warning in the log that does not
name the URL (its path is the check's secret).
"""

from __future__ import annotations

import logging
from uuid import UUID

import httpx

from .redact import short_error

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0


class Pinger:
    def __init__(self, url: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self.url = httpx.URL(url)
        self.timeout = timeout

    def _url(self, suffix: str, rid: UUID | None) -> httpx.URL:
        path = self.url.path.rstrip("/") + suffix
        url = self.url.copy_with(path=path)
        return url.copy_merge_params({"rid": str(rid)}) if rid is not None else url

    def _send(self, suffix: str, rid: UUID | None, body: str) -> bool:
        what = suffix.lstrip("/") or "success"
        try:
            response = httpx.post(self._url(suffix, rid), content=body, timeout=self.timeout)
        except httpx.HTTPError as exc:
            logger.warning("ping %s not delivered: %s", what, type(exc).__name__)
            return False
        if not response.is_success:
            logger.warning("ping %s not accepted: HTTP %d", what, response.status_code)
            return False
        return True

    def start(self, rid: UUID) -> bool:
        return self._send("/start", rid, "")

    def success(self, rid: UUID, summary: str) -> bool:
        return self._send("", rid, summary)

    def fail(self, rid: UUID | None, error: str | None) -> bool:
        return self._send("/fail", rid, short_error(error) or "failed")
