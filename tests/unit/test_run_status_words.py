"""Run statuses are ``RunStatus`` members in product code, not bare strings.

``python -m tests.unit.test_run_status_words`` prints every place the four words still stand as
string constants (docstrings aside) and how many there are.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Final

from assignment_reminders.job.run_status import RunStatus
from tests.conftest import REPO

PACKAGE = REPO / "src" / "assignment_reminders"
WORDS: Final = frozenset(s.value for s in RunStatus)
NOT_RUN_STATUSES: Final = {
    # the same words meaning something else, or shown as words
    "tables.py",  # the colour of any cell that says one of these words
    "cli/embedded.py",  # the embedded server: "running" or "stopped"
    "monitoring/ops_state.py",  # the headline state ("up", "running", "late", ...)
    "monitoring/ping.py",  # the ping's kind in a heartbeat URL
    "monitoring/truth.py",  # the text shown when a failed run left no error
}


def _docstrings(tree: ast.AST) -> set[int]:
    owners = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, owners)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def bare_words(path: Path) -> list[int]:
    tree = ast.parse(path.read_text())
    docs = _docstrings(tree)
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in WORDS and id(node) not in docs
    ]


def places() -> list[str]:
    return [
        f"{path.relative_to(PACKAGE)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "run_status.py"
        for line in bare_words(path)
    ]


def test_run_statuses_are_named_by_the_enum() -> None:
    assert [p for p in places() if p.split(":")[0] not in NOT_RUN_STATUSES] == []


def test_the_enum_is_the_databases_four_words() -> None:
    schema = (REPO / "supabase" / "schema.sql").read_text()
    assert "CHECK (status IN ('running', 'success', 'failed', 'skipped'))" in schema
    assert sorted(WORDS) == ["failed", "running", "skipped", "success"]


if __name__ == "__main__":
    found = places()
    print("\n".join(found))
    print(f"{len(found)} bare status words")
