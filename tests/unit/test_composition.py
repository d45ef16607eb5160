"""The job's composition root (job.py): who depends on whom."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "src" / "assignment_reminders"


def imports(path: Path) -> set[str]:
    """Every module *path* imports, anywhere in it, as a dotted name inside the package."""
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    package = parts[:-1]  # the package a module (or an __init__) sits in
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            base = package[: len(package) - (node.level - 1)]
            module = [*base, *(node.module.split(".") if node.module else [])]
            found.add(".".join(module))
            found.update(".".join([*module, a.name]) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "assignment_reminders"
        ):
            found.add(str(node.module).removeprefix("assignment_reminders."))
    return found


def test_the_root_and_the_trigger_import_no_monitoring_api_or_cli() -> None:
    for name in ("job.py", "trigger.py", "scheduler.py", "delivery/runner.py"):
        bad = {
            m for m in imports(PACKAGE / name) if m.split(".")[0] in {"monitoring", "api", "cli"}
        }
        assert bad == set(), (name, bad)


def test_monitoring_and_api_reach_the_job_through_the_root() -> None:
    for path in [*(PACKAGE / "monitoring").glob("*.py"), *(PACKAGE / "api").glob("*.py")]:
        found = imports(path)
        assert "trigger.run_once" not in found, path
    assert "job.run_once" in imports(PACKAGE / "monitoring" / "run_monitor.py")
    assert "monitoring.run_monitor.monitored_run" in imports(PACKAGE / "api" / "app.py")


def test_progress_display_is_the_clis_not_deliverys() -> None:
    for path in (PACKAGE / "delivery").glob("*.py"):
        assert not any(m.startswith("progress") for m in imports(path)), path
    assert "progress.Progress" in imports(PACKAGE / "cli" / "job.py")
