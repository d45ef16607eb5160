"""The channels' names, as settings, the ledger and the queue spell them."""

from __future__ import annotations

from typing import Final

EMAIL: Final = "email"
WEBHOOK: Final = "webhook"
