"""Building a ReminderDispatchService from settings, for the cron run and for ``worker``."""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..clock import utc_now
from ..config import Settings
from ..database import Connection
from ..fence import Guard
from ..progress import Progress, due_rows
from .channels import Channel, build_channels, configured_channel_names
from .messages import Renderer
from .retry import RetryPolicy
from .service import ReminderDispatchService


def dispatch_service(
    settings: Settings,
    conn: Connection,
    channels: Mapping[str, Channel],
    *,
    clock: Callable[[], datetime] = utc_now,
    rng: random.Random | None = None,
) -> ReminderDispatchService:
    return ReminderDispatchService(
        conn,
        channels,
        Renderer(settings.delivery.app_url),
        clock=clock,
        rng=rng or random.Random(),  # noqa: S311 - retry jitter, not a secret
        policy=RetryPolicy(max_attempts=settings.delivery.max_attempts),
        lease=timedelta(seconds=settings.delivery.lease_seconds),
        batch_size=settings.delivery.batch_size,
        concurrency=settings.delivery.concurrency,
    )


def close_all(channels: Mapping[str, Channel]) -> None:
    for channel in channels.values():
        channel.close()


@dataclass
class CronDelivery:
    """What the cron run adds to the reminder pass: channels for the delivery rows, progress,
    and a drain of the queue within ``REMINDERS_DELIVERY_BUDGET_SECONDS`` while the lock is held.
    """

    settings: Settings
    conn: Connection
    clock: Callable[[], datetime] = utc_now
    channels: list[str] = field(init=False)
    progress: Progress = field(init=False)

    def __post_init__(self) -> None:
        self.channels = configured_channel_names(self.settings)
        self.progress = Progress(lambda: due_rows(self.conn, self.clock()), stream=sys.stderr)

    @property
    def deliver(self) -> Callable[[Callable[[], None], Guard], None] | None:
        if not self.channels or self.settings.delivery.budget_seconds == 0:
            return None
        return self._drain

    def _drain(self, checkpoint: Callable[[], None], guard: Guard) -> None:
        """Drain within the budget; *checkpoint* runs before each batch and *guard* around each
        claim, both raising when the run's lock is gone: a run that lost it claims nothing more."""

        def stop() -> bool:
            checkpoint()
            return False

        channels = build_channels(self.settings, self.channels)
        try:
            with dispatch_service(self.settings, self.conn, channels, clock=self.clock) as service:
                service.drain(
                    budget_seconds=self.settings.delivery.budget_seconds, stop=stop, guard=guard
                )
        finally:
            close_all(channels)
