"""docs/benchmarks.md is one current table in the shape `python -m benchmarks --write-docs`
writes: the command, the machine, the date and the commit above one row per target."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import pytest
from benchmarks.docs_page import (
    DOCS_PAGE,
    END,
    FIELDS,
    HEADER,
    Provenance,
    has_section,
    parse,
    parse_with_docs_option,
    provenance,
    replace_section,
    section,
    write_docs,
)
from benchmarks.targets import Target

TARGETS = [
    Target("1,000,000: first run (in-run)", "12.61 s", "<= 1.3x floor (13.59 s)", "1.21x", True),
    Target("api: p99 | at saturation (informs)", "52.3 ms", "-", "-", None),
    Target("10,000,000: seed", "190 s", "<= 180 s", "0.29x floor", False),
]
SOURCE = Provenance(
    "python -m benchmarks --sizes 1000000", "Linux, 2 CPUs", "2026-12-06", "abc1234"
)


def test_the_page_has_one_generated_table_of_the_written_shape() -> None:
    page = DOCS_PAGE.read_text(encoding="utf-8")
    found = parse(page)
    assert found.header == HEADER
    assert found.rows, "the table has no rows"
    assert all(len(row) == len(HEADER) for row in found.rows)
    assert {row[-1] for row in found.rows} <= {"yes", "NO", "-"}
    assert all(getattr(found.source, name) for name in FIELDS)
    assert page.count(END) == 1
    assert "write-tax:begin" in page and "write-tax:end" in page


def test_the_page_keeps_no_dated_runs() -> None:
    headings = [line for line in DOCS_PAGE.read_text().splitlines() if line.startswith("#")]
    assert not [h for h in headings if "202" in h or "Earlier" in h or "Latest" in h]


def test_what_is_written_reads_back_as_the_targets() -> None:
    found = parse(section(TARGETS, SOURCE))
    assert found.source == SOURCE
    assert found.rows == [
        ("1,000,000: first run (in-run)", "12.61 s", "<= 1.3x floor (13.59 s)", "1.21x", "yes"),
        ("api: p99 | at saturation (informs)", "52.3 ms", "-", "-", "-"),
        ("10,000,000: seed", "190 s", "<= 180 s", "0.29x floor", "NO"),
    ]


def test_writing_replaces_only_the_table(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    original = DOCS_PAGE.read_text(encoding="utf-8")
    page.write_text(original, encoding="utf-8")
    assert has_section(page)
    write_docs(TARGETS, SOURCE, page)
    written = page.read_text(encoding="utf-8")
    assert parse(written).rows[2][0] == "10,000,000: seed"
    assert written == replace_section(original, section(TARGETS, SOURCE))
    before, after = original.split(END)
    assert written.endswith(after)
    assert written.startswith(before[: before.index("<!-- bench-table:begin")])


def test_a_page_without_the_markers_is_refused_before_the_run(tmp_path: Path) -> None:
    page = tmp_path / "other.md"
    page.write_text("# no table here\n", encoding="utf-8")
    assert not has_section(page)
    assert not has_section(tmp_path / "missing.md")


def test_the_provenance_names_the_command_machine_date_and_commit() -> None:
    moment = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
    found = provenance(["--sizes", "1000000"], 0.5, moment, commit="abc1234")
    assert found.command == "python -m benchmarks --sizes 1000000"
    assert "CPUs" in found.machine and "load average 0.50" in found.machine
    assert found.date == "2026-12-06 08:00 UTC"
    assert found.commit == "abc1234"


def test_the_option_refuses_a_page_without_a_table_before_any_run(tmp_path: Path) -> None:
    page = tmp_path / "other.md"
    page.write_text("# no table here\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exited:
        parse_with_docs_option(argparse.ArgumentParser(), ["--write-docs", str(page)])
    assert exited.value.code == 2
    args = parse_with_docs_option(argparse.ArgumentParser(), ["--write-docs"])
    assert args.write_docs == DOCS_PAGE
    assert parse_with_docs_option(argparse.ArgumentParser(), []).write_docs is None
