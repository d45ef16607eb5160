"""A run's counters keep one name on every surface that shows them (issue 21: "names that say one
thing"): ``due_rows_read`` is the due-index rows a run read, never "scanned" assignments."""

from __future__ import annotations

from assignment_reminders.dev.demo import COLUMNS as DEMO_COLUMNS
from assignment_reminders.monitoring.status import RUN_COLUMNS as STATUS_COLUMNS
from tests.conftest import REPO

OPS_TEMPLATE = REPO / "src" / "assignment_reminders" / "templates" / "ops.html"


def test_due_rows_read_is_labelled_due_rows_in_status_demo_and_ops() -> None:
    for columns in (STATUS_COLUMNS, DEMO_COLUMNS):
        assert dict(columns)["due_rows_read"] == "due rows"
    page = OPS_TEMPLATE.read_text()
    assert "<th>due rows</th>" in page
    assert "scanned" not in page
