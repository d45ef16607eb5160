"""Delivery of reminders over email and webhooks: ``reminder_deliveries`` is the queue."""

from .channels import (
    Channel,
    EmailChannel,
    WebhookChannel,
    build_channels,
    configured_channel_names,
)
from .messages import Delivery, Message, Renderer
from .retry import RetryPolicy
from .service import DrainResult, ReminderDispatchService

__all__ = [
    "Channel",
    "Delivery",
    "DrainResult",
    "EmailChannel",
    "Message",
    "ReminderDispatchService",
    "Renderer",
    "RetryPolicy",
    "WebhookChannel",
    "build_channels",
    "configured_channel_names",
]
