"""Alert receivers as pytest fixtures, over the real servers in tests/receivers.py."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from typing import Any

import pytest

from tests.dependencies import missing
from tests.receivers import Recorder, free_port, smtp_receiver, webhook_receiver

__all__ = [
    "ALERT_WEBHOOK_SECRET",
    "Mailbox",
    "WebhookReceiver",
    "free_port",
    "smtp_server",
    "webhook",
]


@dataclass
class WebhookReceiver:
    url: str
    recorder: Recorder

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [item["json"] for item in self.recorder.arrivals]

    def texts(self) -> list[str]:
        return [str(b["text"]) for b in self.bodies]


ALERT_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"alert-webhook-secret-32-bytes-ok").decode()
"""The alert webhook's Standard Webhooks secret (REMINDERS_ALERT_WEBHOOK_SECRET) in tests."""


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    """A receiver that verifies every request's Standard Webhooks signature with
    :data:`ALERT_WEBHOOK_SECRET` (standardwebhooks, from PyPI) and answers 401 when it fails."""
    recorder = Recorder()
    with webhook_receiver(recorder, secret=ALERT_WEBHOOK_SECRET) as url:
        yield WebhookReceiver(url, recorder)


@dataclass
class Mailbox:
    host: str
    port: int
    recorder: Recorder

    @property
    def messages(self) -> list[Message]:
        return list(self.recorder.arrivals)

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        missing("aiosmtpd", "`make install` installs it (requirements-dev.lock)")
    recorder = Recorder()
    with smtp_receiver(recorder) as (host, port):
        yield Mailbox(host, port, recorder)
