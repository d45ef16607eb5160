"""Limits on what a caller may give, each defined once and shared by the API, the CLI and the
database. Light on purpose (no driver, no web framework): the CLI's ``--help`` names them.

* :data:`REASON_MAX_LENGTH`: a correction's reason (``PUT /admin/.../last-contact-date``'s
  ``reason``, ``reminders admin set-last-contact --reason``; the database's CHECK
  ``last_contact_corrections_reason_length`` in supabase/schema.sql).
* :data:`MAX_NOW_DISTANCE`: how far a run's ``now`` (``reminders run --now``, the cron
  endpoint's ``now``) may be from the database's clock unless the caller says it is meant
  (distant_now.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

REASON_MAX_LENGTH: Final = 2000
"""The longest reason a correction keeps, in characters."""

MAX_NOW_DISTANCE: Final = timedelta(hours=24)
"""A run's ``now`` further than this from the database's clock, either way, must be meant."""

MAX_NOW_DISTANCE_TEXT: Final = "24 hours"
""":data:`MAX_NOW_DISTANCE` as help texts and messages say it."""
