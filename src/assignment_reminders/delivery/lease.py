"""Which claimed deliveries this worker still holds, and until when, as the database last said.

A claim and every heartbeat (``extend_deliveries``) return until when each row is ours; nothing
else moves that time. A message may start sending only while ``now + send_timeout + margin`` is
still inside its lease: its send is then over before anyone else can claim the row, and the
heartbeat keeps the row ours until its outcome is recorded. The margin covers the heartbeat's
own latency and clock differences between workers. Read from the channels' event loops, written
by the service's thread: every access holds the lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta


class Leases:
    def __init__(self, margin: timedelta) -> None:
        self.margin = margin
        self._until: dict[int, datetime] = {}
        self._lock = threading.Lock()

    def hold(self, ids: Iterable[int], until: datetime) -> None:
        """Rows just claimed, ours until *until*."""
        with self._lock:
            for i in ids:
                self._until[i] = until

    def held(self) -> list[int]:
        with self._lock:
            return sorted(self._until)

    def confirm(self, asked: Iterable[int], extended: Mapping[int, datetime]) -> list[int]:
        """A heartbeat asked for *asked* and the database extended *extended*; the rest are
        lost (their lease ran out, or another worker has them): never sent from now on.
        Returns the lost ids."""
        lost = []
        with self._lock:
            for i in asked:
                if i in extended:
                    if i in self._until:  # not recorded meanwhile
                        self._until[i] = max(self._until[i], extended[i])
                elif self._until.pop(i, None) is not None:
                    lost.append(i)
        return lost

    def drop(self, ids: Iterable[int]) -> None:
        """Rows whose outcome is recorded (or given up): no longer ours."""
        with self._lock:
            for i in ids:
                self._until.pop(i, None)

    def may_start(self, delivery_id: int, now: datetime, send_seconds: float) -> bool:
        """May a send of *send_seconds* at most start now and end inside the lease, margin
        kept?"""
        with self._lock:
            until = self._until.get(delivery_id)
        return until is not None and now + timedelta(seconds=send_seconds) + self.margin <= until
