"""External channels: email over SMTP and signed webhooks. In-app notifications are not a
channel here: they are written by the reminder pass in the ledger's own transaction.

A channel's ``send`` returns on success and raises :class:`DeliveryError` otherwise
(``permanent=True`` when retrying cannot help). Channels are used from several threads.
"""

from __future__ import annotations

import contextlib
import json
import logging
import smtplib
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING, Protocol

from ..clock import utc_now
from ..config import Settings, SmtpSettings
from ..exceptions import DeliveryError
from ..smtp import open_smtp
from .messages import Message
from .signing import signed_headers, webhook_key

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger(__name__)

EMAIL, WEBHOOK = "email", "webhook"
CHANNELS = (EMAIL, WEBHOOK)


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> None: ...

    def close(self) -> None: ...


class WebhookChannel:
    """POSTs the JSON payload signed per Standard Webhooks (:mod:`.signing`): ``webhook-id`` is
    the delivery's idempotency key, ``webhook-timestamp`` the attempt's time from *clock*."""

    name = WEBHOOK

    def __init__(
        self,
        url: str,
        key: bytes,
        *,
        timeout: float = 10.0,
        pool: int = 16,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        import httpx  # imported when a webhook is configured: keeps `reminders run` start-up short

        self.url = httpx.URL(url)  # parsed once, not per request
        self._key = key
        self.clock = clock
        # The transport (connection pool) directly: a webhook needs no redirects, cookies, auth
        # or proxies, and skipping httpx.Client's handling of them makes each request cheaper.
        self.transport: httpx.HTTPTransport = httpx.HTTPTransport(
            limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
        )
        self._timeout = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}

    def send(self, message: Message) -> None:
        import httpx

        body = json.dumps(message.payload(), separators=(",", ":")).encode()
        timestamp = int(self.clock().timestamp())
        headers = {
            "Content-Type": "application/json",
            **signed_headers(self._key, message.delivery.idempotency_key, timestamp, body),
        }
        request = httpx.Request(
            "POST", self.url, content=body, headers=headers, extensions={"timeout": self._timeout}
        )
        try:
            response = self.transport.handle_request(request)
            try:
                response.read()
            finally:
                response.close()
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook: {type(exc).__name__}") from exc
        if response.is_success:
            return
        status = response.status_code
        # 4xx but timeout / conflict / rate limit: the receiver refuses this message for good
        permanent = 400 <= status < 500 and status not in (408, 409, 425, 429)
        raise DeliveryError(f"webhook: HTTP {status}", permanent=permanent)

    def close(self) -> None:
        self.transport.close()


class EmailChannel:
    """Sends plain-text email over SMTP; one connection per sending thread, kept open."""

    name = EMAIL

    def __init__(self, smtp: SmtpSettings, *, timeout: float = 10.0) -> None:
        self.smtp = smtp  # REMINDERS_SMTP_*: host, port, TLS mode, login, sender
        self.sender = smtp.sender
        self.timeout = timeout
        self._local = threading.local()
        self._all: list[smtplib.SMTP] = []
        self._lock = threading.Lock()

    def message_id(self, message: Message) -> str:
        domain = self.sender.rpartition("@")[2] or "localhost"
        return f"<{message.delivery.idempotency_key}@{domain}>"

    def build(self, message: Message) -> EmailMessage:
        to = message.delivery.recipient_email
        if not to:
            raise DeliveryError("email: the recipient has no email address", permanent=True)
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = to
        mail["Subject"] = message.subject
        mail["Date"] = format_datetime(message.now)
        mail["Message-ID"] = self.message_id(message)
        mail.set_content(message.text)
        return mail

    def _connect(self) -> smtplib.SMTP:
        smtp = open_smtp(self.smtp, timeout=self.timeout)
        with self._lock:
            self._all.append(smtp)
        return smtp

    def _connection(self) -> smtplib.SMTP:
        smtp: smtplib.SMTP | None = getattr(self._local, "smtp", None)
        if smtp is None:
            smtp = self._local.smtp = self._connect()
        return smtp

    def send(self, message: Message) -> None:
        mail = self.build(message)
        try:
            try:
                self._connection().send_message(mail)
            except smtplib.SMTPServerDisconnected:  # a kept connection timed out: once more
                self._drop()
                self._connection().send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(
                f"email: recipient refused ({codes})", permanent=all(c >= 500 for c in codes)
            ) from exc
        except smtplib.SMTPResponseException as exc:
            self._drop()
            raise DeliveryError(
                f"email: SMTP {exc.smtp_code}", permanent=exc.smtp_code >= 500
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise DeliveryError(f"email: {type(exc).__name__}") from exc

    def _drop(self) -> None:
        """Close this thread's connection and forget it (a long-lived worker reconnects often)."""
        smtp = getattr(self._local, "smtp", None)
        self._local.smtp = None
        if smtp is not None:
            with self._lock:
                self._all = [s for s in self._all if s is not smtp]
            with contextlib.suppress(OSError):
                smtp.close()

    def close(self) -> None:
        with self._lock:
            connections, self._all = self._all, []
        for smtp in connections:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


def configured_channel_names(settings: Settings) -> list[str]:
    """The external channels this deployment can send on; logs one line per skipped channel."""
    names = []
    if settings.smtp.host:
        names.append(EMAIL)
    else:
        logger.info("email channel not configured (REMINDERS_SMTP_HOST is unset): skipped")
    if settings.delivery.webhook_url is not None and settings.delivery.webhook_secret is not None:
        names.append(WEBHOOK)
    else:
        logger.info("webhook channel not configured (REMINDERS_WEBHOOK_URL is unset): skipped")
    return names


def build_channels(settings: Settings, names: list[str] | None = None) -> Mapping[str, Channel]:
    """The configured channels, ready to send; call ``close()`` on each when done."""
    names = configured_channel_names(settings) if names is None else names
    channels: dict[str, Channel] = {}
    if EMAIL in names and settings.smtp.host:
        channels[EMAIL] = EmailChannel(settings.smtp)
    if WEBHOOK in names and settings.delivery.webhook_url and settings.delivery.webhook_secret:
        channels[WEBHOOK] = WebhookChannel(
            settings.delivery.webhook_url.reveal(),
            webhook_key(settings.delivery.webhook_secret.reveal()),
            pool=max(1, settings.delivery.concurrency),
        )
    return channels
