"""Delivery of reminders over email and webhooks: ``reminder_deliveries`` is the queue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .channels import Channel, build_channels, configured_channel_names
from .messages import Delivery, Message, Renderer
from .retry import RetryPolicy
from .service import DeliveryDrain, DrainResult

if TYPE_CHECKING:
    from .mail import EmailChannel
    from .webhook import WebhookChannel

__all__ = [
    "Channel",
    "Delivery",
    "DeliveryDrain",
    "DrainResult",
    "EmailChannel",
    "Message",
    "Renderer",
    "RetryPolicy",
    "WebhookChannel",
    "build_channels",
    "configured_channel_names",
]


def __getattr__(name: str) -> Any:
    """The channels load asyncio and their clients: only when asked for (`reminders run` on a
    deployment without channels never is)."""
    if name == "EmailChannel":
        from .mail import EmailChannel

        return EmailChannel
    if name == "WebhookChannel":
        from .webhook import WebhookChannel

        return WebhookChannel
    raise AttributeError(name)
