"""External channels: email over SMTP (:mod:`.mail`) and signed webhooks (:mod:`.webhook`).
In-app notifications are not a channel here: they are written by the reminder pass in the
ledger's own transaction.

A channel sends a batch on its own event loop (:mod:`.sending`): ``submit(messages, ...)``
returns a future of one :class:`~.states.Attempt` per message: accepted, or the exception (a
:class:`DeliveryError`, ``permanent=True`` when retrying cannot help), with the time it ended.
No message's send lasts longer than the channel's ``send_timeout``. Several threads may share a
channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from ..config import Settings
from .names import EMAIL, WEBHOOK

if TYPE_CHECKING:
    from concurrent.futures import Future

    from .messages import Message
    from .sending import MayStart, Outcomes

logger = logging.getLogger(__name__)


class Channel(Protocol):
    name: str
    send_timeout: float  # seconds: the longest one message's send may take

    def submit(
        self,
        messages: Sequence[Message],
        *,
        clock: Callable[[], datetime],
        may_start: MayStart | None = None,
    ) -> Future[Outcomes]: ...

    def close(self) -> None: ...


def skipped_channels(settings: Settings) -> list[str]:
    """Why each channel this deployment cannot send on is skipped (one line each)."""
    said = []
    if not settings.smtp.host:
        said.append("email channel not configured (REMINDERS_SMTP_HOST is unset): skipped")
    if settings.delivery.webhook_url is None or settings.delivery.webhook_secret is None:
        said.append("webhook channel not configured (REMINDERS_WEBHOOK_URL is unset): skipped")
    return said


def configured_channel_names(settings: Settings, *, announce: bool = True) -> list[str]:
    """The external channels this deployment can send on; logs one line per skipped channel
    (unless *announce* is false: a run says them within its log context, job/compose.py)."""
    names = []
    if settings.smtp.host:
        names.append(EMAIL)
    if settings.delivery.webhook_url is not None and settings.delivery.webhook_secret is not None:
        names.append(WEBHOOK)
    if announce:
        for line in skipped_channels(settings):
            logger.info(line)
    return names


def build_channels(settings: Settings, names: list[str] | None = None) -> Mapping[str, Channel]:
    """The configured channels, ready to send; call ``close()`` on each when done. Each keeps
    at most ``REMINDERS_DELIVERY_CONCURRENCY`` messages in flight and connections open."""
    from ..config import webhook_key
    from .mail import EmailChannel  # asyncio, aiosmtplib, aiohttp: only when delivering
    from .webhook import WebhookChannel

    names = configured_channel_names(settings) if names is None else names
    concurrency = settings.delivery.concurrency
    channels: dict[str, Channel] = {}
    if EMAIL in names and settings.smtp.host:
        channels[EMAIL] = EmailChannel(settings.smtp, concurrency=concurrency)
    if WEBHOOK in names and settings.delivery.webhook_url and settings.delivery.webhook_secret:
        channels[WEBHOOK] = WebhookChannel(
            settings.delivery.webhook_url.reveal(),
            webhook_key(settings.delivery.webhook_secret.reveal()),
            concurrency=concurrency,
        )
    return channels
