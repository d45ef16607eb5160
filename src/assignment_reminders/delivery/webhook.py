"""The webhook channel: JSON POSTs signed per Standard Webhooks, over aiohttp.

aiohttp (an asyncio client with a C HTTP parser) keeps at most ``concurrency`` connections open
to the receiver and reuses them across batches; httpx's async client was measured far slower to the
same local receiver (docs/benchmarks.md#figures-behind-design-choices).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from ..clock import utc_now
from ..exceptions import DeliveryError
from .messages import Message
from .names import WEBHOOK
from .sending import AsyncChannel
from .signing import signed_headers

if TYPE_CHECKING:
    import aiohttp

RETRYABLE_4XX = frozenset({408, 409, 425, 429})  # timeout, conflict, too early, rate limit


class WebhookChannel(AsyncChannel):
    """POSTs the JSON payload signed per Standard Webhooks (:mod:`.signing`): ``webhook-id`` is
    the delivery's idempotency key, ``webhook-timestamp`` the attempt's time from *clock*."""

    name = WEBHOOK

    def __init__(
        self,
        url: str,
        key: bytes,
        *,
        timeout: float = 10.0,
        concurrency: int = 16,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(concurrency, send_timeout=timeout)
        self._url = url  # may carry a token: never logged, never in an error
        self._key = key
        self._timeout = timeout
        self.clock = clock
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        """Made on the channel's loop at the first send (aiohttp binds a session to its loop)."""
        if self._session is None:
            import aiohttp  # imported when a webhook is sent: keeps `reminders run` start-up short

            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.limit.maximum),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                skip_auto_headers=("User-Agent",),
                headers={"User-Agent": "assignment-reminders"},
            )
        return self._session

    async def deliver(self, message: Message) -> None:
        import aiohttp

        body = json.dumps(message.payload(), separators=(",", ":")).encode()
        timestamp = int(self.clock().timestamp())
        headers = {
            "Content-Type": "application/json",
            **signed_headers(self._key, message.delivery.idempotency_key, timestamp, body),
        }
        try:
            async with self._client().post(self._url, data=body, headers=headers) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"webhook: {type(exc).__name__}") from None
        if 200 <= status < 300:
            return
        # a 4xx but timeout / conflict / rate limit: the receiver refuses this message for good
        permanent = 400 <= status < 500 and status not in RETRYABLE_4XX
        raise DeliveryError(f"webhook: HTTP {status}", permanent=permanent)

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
