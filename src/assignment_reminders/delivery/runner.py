"""Building a DeliveryDrain from settings, for the cron run and for ``worker``."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..clock import utc_now
from ..config import Settings
from ..db.database import Connection
from ..job.fence import Guard
from .channels import Channel, build_channels
from .messages import Renderer
from .retry import RetryPolicy
from .service import DeliveryDrain
from .states import DrainResult


def delivery_drain(
    settings: Settings,
    conn: Connection,
    channels: Mapping[str, Channel],
    *,
    clock: Callable[[], datetime] = utc_now,
    rng: random.Random | None = None,
) -> DeliveryDrain:
    return DeliveryDrain(
        conn,
        channels,
        Renderer(settings.delivery.app_url),
        clock=clock,
        rng=rng or random.Random(),  # noqa: S311 - retry jitter, not a secret
        policy=RetryPolicy(max_attempts=settings.delivery.max_attempts),
        lease=timedelta(seconds=settings.delivery.lease_seconds),
        batch_size=settings.delivery.batch_size,
    )


def close_all(channels: Mapping[str, Channel]) -> None:
    for channel in channels.values():
        channel.close()


@dataclass
class DeliveryStep:
    """The cron run's step after the reminder pass: drain the queue on the channels *names*
    (``configured_channel_names``) within ``REMINDERS_DELIVERY_BUDGET_SECONDS`` while the lock is
    held. :attr:`result` is None until the step starts, then what it has done so far: the run's
    outcome reports it (``reminders run``'s line, ``--json``, the cron endpoint's body)."""

    settings: Settings
    conn: Connection
    names: list[str]
    clock: Callable[[], datetime] = utc_now
    result: DrainResult | None = field(default=None, init=False)

    def __call__(self, checkpoint: Callable[[], None], guard: Guard) -> None:
        """*checkpoint* runs before each batch and *guard* around each claim, both raising when
        the run's lock is gone: a run that lost it claims nothing more."""

        def stop() -> bool:
            checkpoint()
            return False

        self.result = DrainResult()
        channels = build_channels(self.settings, self.names)
        try:
            with delivery_drain(self.settings, self.conn, channels, clock=self.clock) as service:
                service.drain(
                    budget_seconds=self.settings.delivery.budget_seconds,
                    stop=stop,
                    guard=guard,
                    into=self.result,
                )
        finally:
            close_all(channels)


def delivery_step(
    settings: Settings,
    conn: Connection,
    names: list[str],
    clock: Callable[[], datetime] = utc_now,
) -> DeliveryStep | None:
    """The run's :class:`DeliveryStep`, or None when no channel is configured or the budget is 0
    (the workers deliver)."""
    if not names or settings.delivery.budget_seconds == 0:
        return None
    return DeliveryStep(settings, conn, names, clock)
