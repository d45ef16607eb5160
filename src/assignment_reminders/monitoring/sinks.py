"""Where alerts go: the log (always), a Slack-compatible webhook, email over SMTP.

A sink that fails logs why (never the webhook URL or the SMTP password) and the others still run.
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from datetime import datetime
from email.message import EmailMessage
from typing import Literal, Protocol

from ..clock import utc_now
from ..config import Secret, Settings
from ..delivery.smtp import open_smtp
from ..exceptions import ConfigurationError
from ..figures import moment
from ..logs import log_context
from .alerts import Alert, Changes

logger = logging.getLogger("assignment_reminders.alerts")

Event = Literal["alert", "recovery"]


def headline(event: Event, alert: Alert) -> str:
    if event == "alert":
        return f"[ALERT] {alert.kind}: {alert.message}"
    return f"[RECOVERED] {alert.kind} ({alert.subject}): {alert.message}"


class Sink(Protocol):
    name: str

    def send(self, event: Event, alert: Alert) -> None: ...


def alert_run_id(alert: Alert) -> int | None:
    """The run an incident is about (the newer of a pair, the newest skipped run), if any."""
    d = alert.details
    if d.get("run_id") is not None:
        return int(d["run_id"])
    runs = d.get("run_ids") or d.get("skipped_run_ids") or []
    return int(max(runs)) if runs else None


def alert_fields(alert: Alert) -> dict[str, object]:
    """What an alert line carries as fields (JSON logs): the kind, the incident, its run."""
    fields: dict[str, object] = {"alert_kind": alert.kind, "incident_id": alert.id}
    run_id = alert_run_id(alert)
    if run_id is not None:
        fields["run_id"] = run_id
    return fields


class LogSink:
    name = "log"

    def send(self, event: Event, alert: Alert) -> None:
        level = logging.ERROR if event == "alert" else logging.WARNING
        with log_context(**alert_fields(alert)):
            logger.log(level, "%s (incident %d)", headline(event, alert), alert.id)

    def muted(self, event: Event, alert: Alert, window: int) -> None:
        with log_context(**alert_fields(alert), maintenance_window=window):
            logger.info(
                "%s (incident %d; muted by maintenance window %d: recorded, not sent)",
                headline(event, alert),
                alert.id,
                window,
            )


class WebhookSink:
    """POST ``{"text": ...}`` (what Slack incoming webhooks read) plus the alert as ``alert``,
    signed per Standard Webhooks like reminder webhooks (delivery/signing.py): ``webhook-id``
    is ``alert-<incident>-<event>`` (the same for a resend), ``webhook-timestamp`` from *clock*.
    """

    name = "webhook"

    def __init__(
        self,
        url: Secret,
        key: bytes,
        *,
        timeout: float = 10.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.url = url
        self._key = key
        self.timeout = timeout
        self.clock = clock

    def send(self, event: Event, alert: Alert) -> None:
        from ..delivery.signing import signed_headers  # the delivery package: only to send

        body = json.dumps(
            {"text": headline(event, alert), "event": event, "alert": alert.to_dict()}
        ).encode()
        signed = signed_headers(
            self._key, f"alert-{alert.id}-{event}", int(self.clock().timestamp()), body
        )
        request = urllib.request.Request(  # noqa: S310 - the operator's configured URL
            self.url.reveal(),
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "assignment-reminders",
                **signed,
            },
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            response.read()


class EmailSink:
    name = "email"

    def __init__(self, settings: Settings, *, timeout: float = 10.0) -> None:
        self.settings = settings
        self.timeout = timeout

    def send(self, event: Event, alert: Alert) -> None:
        message = EmailMessage()
        message["Subject"] = headline(event, alert)[:200]
        message["From"] = self.settings.smtp.sender
        message["To"] = ", ".join(self.settings.monitoring.email_to)
        message.set_content(
            f"{headline(event, alert)}\n\nincident {alert.id}, opened {moment(alert.opened_at)}"
            + (f", resolved {moment(alert.resolved_at)}" if alert.resolved_at else "")
            + f"\n\n{json.dumps(alert.details, indent=2, default=str)}\n"
        )
        with open_smtp(self.settings.smtp, timeout=self.timeout) as smtp:
            smtp.send_message(message)


def sinks_from_settings(settings: Settings) -> list[Sink]:
    """The log, plus the webhook and email when configured."""
    m = settings.monitoring
    sinks: list[Sink] = [LogSink()]
    if m.webhook_url is not None:
        if m.webhook_secret is None:
            raise ConfigurationError(
                "REMINDERS_ALERT_WEBHOOK_URL is set but REMINDERS_ALERT_WEBHOOK_SECRET is not:"
                " alerts are signed"
            )
        from ..config import webhook_key

        key = webhook_key(m.webhook_secret.reveal(), name="REMINDERS_ALERT_WEBHOOK_SECRET")
        sinks.append(WebhookSink(m.webhook_url, key))
    if settings.smtp.host and m.email_to:
        sinks.append(EmailSink(settings))
    return sinks


def notify(sinks: Sequence[Sink], changes: Changes) -> None:
    """Send each opened incident as an alert and each resolved one as a recovery; inside a
    maintenance window only the log says so (muted), the other sinks are not called."""
    events: list[tuple[Event, Alert]] = [("alert", a) for a in changes.opened]
    events += [("recovery", a) for a in changes.resolved]
    if changes.muted_by is not None:
        for event, alert in events:
            LogSink().muted(event, alert, changes.muted_by)
        return
    for event, alert in events:
        for sink in sinks:
            try:
                sink.send(event, alert)
            except Exception as exc:  # one broken sink must not silence the others
                with log_context(**alert_fields(alert)):
                    logger.error(
                        "could not send %s %d to the %s sink: %s",
                        event,
                        alert.id,
                        sink.name,
                        _describe(exc),
                    )


def _describe(exc: Exception) -> str:
    """What went wrong, without the URL (a webhook URL is a secret) or any credentials."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return f"{type(exc).__name__}: {type(exc.reason).__name__}"
    if isinstance(exc, smtplib.SMTPException):
        return f"{type(exc).__name__}"
    return type(exc).__name__
