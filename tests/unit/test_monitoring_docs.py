"""docs/monitoring.md names every monitoring setting and the commands and endpoints it adds."""

from __future__ import annotations

from tests.conftest import REPO


def test_commands_endpoints_and_the_optional_schedule_are_documented() -> None:
    docs = (REPO / "docs/monitoring.md").read_text()
    for needle in ("reminders check", "reminders status", "/metrics", "/ops", "--no-builtin-cron"):
        assert needle in docs
    assert (REPO / "supabase/optional/pg_cron_schedule.sql").exists()
    assert not list((REPO / "supabase/migrations").glob("*pg_cron*"))
