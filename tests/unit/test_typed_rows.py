"""Typed rows everywhere: every fetch in the product package names the type its rows come back
as, so ``mypy --strict`` sees each column a caller reads (issue 21, item 2).

``python -m tests.unit.test_typed_rows [SRC]`` prints the count: the fetches that return
``dict[str, Any]`` (``row=dict``, ``row=record``) or ``Any`` (``fetch_value`` without ``kind=``),
out of all fetches."""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from assignment_reminders.db import gateway
from tests.conftest import REPO

PACKAGE = REPO / "src" / "assignment_reminders"
FETCHES = ("fetch_one", "fetch_all", "fetch_value")
UNTYPED_ROWS = frozenset({"dict", "record", "as_record", "Record", "dict_row"})


@dataclass(frozen=True)
class Fetch:
    where: str
    call: str
    typed: bool


def fetches(root: Path) -> list[Fetch]:
    """Every call of a gateway fetch under *root*, and whether its result is typed."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name not in FETCHES:
                continue
            keywords = {k.arg: k.value for k in node.keywords}
            if name == "fetch_value":
                typed = "kind" in keywords
            else:
                row = keywords.get("row")
                typed = row is not None and not (
                    isinstance(row, ast.Name) and row.id in UNTYPED_ROWS
                )
            where = f"{path.relative_to(root.parent)}:{node.lineno}"
            found.append(Fetch(where, name, typed))
    return found


def test_every_fetch_in_the_package_returns_a_typed_row() -> None:
    found = fetches(PACKAGE)
    assert len(found) > 50  # the walk found the package's fetches
    assert [f"{f.where} {f.call}" for f in found if not f.typed] == []


def test_the_gateway_offers_no_untyped_fetch() -> None:
    assert not hasattr(gateway, "record")
    assert not hasattr(gateway, "Record")
    for name in ("fetch_one", "fetch_all"):
        row = getattr(gateway, name).__kwdefaults__ or {}
        assert "row" not in row  # no default row type: the caller names one
    assert "kind" not in (gateway.fetch_value.__kwdefaults__ or {})


def test_fetch_value_refuses_a_value_of_another_type() -> None:
    class Cursor:
        def execute(self, *_: object) -> Cursor:
            return self

        def fetchone(self) -> dict[str, object]:
            return {"n": "12"}

    class Conn:
        def cursor(self) -> Cursor:
            return Cursor()

    query = gateway.Query("q", "SELECT '12' AS n", "x.sql")
    with pytest.raises(TypeError, match="query q returned str, not int"):
        gateway.fetch_value(Conn(), query, kind=int)  # type: ignore[arg-type]


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else PACKAGE
    every = fetches(root)
    untyped = [f for f in every if not f.typed]
    for f in untyped:
        print(f"{f.where}: {f.call}")
    print(f"untyped fetches: {len(untyped)} of {len(every)}")
