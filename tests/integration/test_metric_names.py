"""Every metric family's name is one OpenMetrics allows: none ends in a suffix it reserves for a
family's own samples (``_created``, ``_total`` ...). ``reminders_created`` once did, and read as
the creation time of a counter ``reminders``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_text
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_prometheus
from prometheus_client.registry import CollectorRegistry

from assignment_reminders.api.app import create_app
from assignment_reminders.config import JOB_NAME, Settings
from assignment_reminders.db.database import Connection
from assignment_reminders.monitoring.metrics import (
    RESERVED_SUFFIXES,
    JobMetricsCollector,
    read_job_metrics,
)
from tests.run_rows import T0, insert_run

OPS_TOKEN = "ops-token-for-the-metric-names-test-0123456789"


@pytest.fixture
def scraped(conn: Connection, database_url: str) -> str:
    insert_run(conn, "success", T0, reminders_created=3, escalations_created=1)
    settings = Settings.from_env({"DATABASE_URL": database_url, "REMINDERS_OPS_TOKEN": OPS_TOKEN})
    with TestClient(create_app(settings)) as client:
        client.get("/health")  # so that the HTTP histogram has a sample
        answer = client.get("/metrics", headers={"Authorization": f"Bearer {OPS_TOKEN}"})
    assert answer.status_code == 200, answer.text
    return answer.text


def test_no_family_served_on_metrics_ends_in_a_reserved_suffix(scraped: str) -> None:
    names = [family.name for family in parse_prometheus(scraped)]
    assert {"reminders_issued", "reminders_deliveries_queued", "reminders_job_runs"} <= set(names)
    assert [n for n in names if n.endswith(RESERVED_SUFFIXES)] == []
    assert "reminders_created" not in scraped and "_created_total" not in scraped


def test_the_reminders_counter_is_reminders_issued_total_by_kind(scraped: str) -> None:
    assert 'reminders_issued_total{kind="reminder"} 3.0' in scraped
    assert 'reminders_issued_total{kind="escalation"} 1.0' in scraped


def test_the_job_families_read_back_unchanged_as_openmetrics(conn: Connection) -> None:
    insert_run(conn, "success", T0, reminders_created=2)
    registry = CollectorRegistry(auto_describe=False)
    now = datetime.now(UTC)
    registry.register(JobMetricsCollector(lambda: (read_job_metrics(conn, JOB_NAME, now), now)))
    text = openmetrics_text(registry).decode()  # type: ignore[no-untyped-call]
    families = {f.name: f for f in parse_openmetrics(text)}  # type: ignore[no-untyped-call]
    assert [n for n in families if n.endswith(RESERVED_SUFFIXES)] == []
    issued = families["reminders_issued"]
    assert issued.type == "counter"
    assert {s.name for s in issued.samples} == {"reminders_issued_total"}
