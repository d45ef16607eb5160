"""docs/monitoring.md names every monitoring setting and the commands and endpoints it adds."""

from __future__ import annotations

import re

from tests.conftest import REPO


def test_every_monitoring_environment_variable_is_documented() -> None:
    source = (REPO / "src/assignment_reminders/config.py").read_text()
    block = source[source.index("class MonitoringSettings") : source.index("def default_data_dir")]
    names = set(re.findall(r'"(REMINDERS_[A-Z_]+)"', block))
    assert len(names) >= 10
    docs = (REPO / "docs/monitoring.md").read_text()
    assert sorted(n for n in names if n not in docs) == []


def test_commands_endpoints_and_the_optional_schedule_are_documented() -> None:
    docs = (REPO / "docs/monitoring.md").read_text()
    for needle in ("reminders check", "reminders status", "/metrics", "/ops", "--no-scheduler"):
        assert needle in docs
    assert (REPO / "supabase/optional/pg_cron_schedule.sql").exists()
    assert not list((REPO / "supabase/migrations").glob("*pg_cron*"))
