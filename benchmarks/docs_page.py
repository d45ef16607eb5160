"""The current table in docs/benchmarks.md: ``python -m benchmarks --write-docs`` (``make bench``)
rewrites the part of the page between :data:`BEGIN` and :data:`END` with the command, the machine,
the date, the commit and every target of the run with its ratio; the rest of the page (what each
row measures, the write-tax section) is left as it is. History is git's:
``git log -p docs/benchmarks.md``."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .targets import Target, met_text

DOCS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
BEGIN = "<!-- bench-table:begin (written by `python -m benchmarks --write-docs`; do not edit) -->"
END = "<!-- bench-table:end -->"
HEADER = ("target", "figure", "goal", "ratio to baseline", "met")
FIELDS = ("command", "machine", "date", "commit")


@dataclass(frozen=True)
class Provenance:
    """Where the figures come from: the lines above the table."""

    command: str
    machine: str
    date: str
    commit: str


def provenance(
    argv: Sequence[str], load_start: float, now: datetime | None = None, commit: str | None = None
) -> Provenance:
    """This run's provenance: its command line, this machine and its load, *now*, *commit*
    (default: the checkout's HEAD)."""
    moment = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    machine = (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs,"
        f" load average {load_start:.2f} at start and {os.getloadavg()[0]:.2f} at end"
    )
    return Provenance(
        command=" ".join(["python -m benchmarks", *argv]),
        machine=machine,
        date=moment,
        commit=commit or _head(),
    )


def _head() -> str:
    return short_commit(DOCS_PAGE.parent)


def short_commit(tree: Path) -> str:
    """The short hash of the commit checked out in *tree*, with ``-dirty`` when tracked files
    differ from it (the figures are then not that commit's), or "unknown"."""
    try:
        found = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=7", "--exclude=*"],
            cwd=tree,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return found.stdout.strip() or "unknown"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(targets: Iterable[Target]) -> str:
    """The targets as a Markdown table, one row each, in :data:`HEADER`'s columns."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for t in targets:
        cells = (t.what, t.figure, t.target, t.baseline, met_text(t.met))
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def section(targets: Iterable[Target], source: Provenance) -> str:
    """The generated part of the page, markers included."""
    facts = [f"- {name}: {_cell(getattr(source, name))}" for name in FIELDS]
    return "\n".join([BEGIN, *facts, "", markdown(targets), END])


def parse_with_docs_option(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None
) -> argparse.Namespace:
    """*parser*'s arguments with ``--write-docs [PAGE]``, a page without a table to replace
    refused at once (exit 2) rather than after the run."""
    parser.add_argument(
        "--write-docs",
        nargs="?",
        type=Path,
        const=DOCS_PAGE,
        default=None,
        metavar="PAGE",
        help="also rewrite the current table in PAGE (default docs/benchmarks.md) with this"
        " run's command, machine, date, commit and targets; `make bench` passes it",
    )
    args = parser.parse_args(argv)
    if args.write_docs is not None and not has_section(args.write_docs):
        parser.error(f"--write-docs: {args.write_docs} has no generated table to replace")
    return args


def has_section(path: Path) -> bool:
    """Whether *path* is a page with a generated part to replace (checked before the run)."""
    try:
        page = path.read_text(encoding="utf-8")
    except OSError:
        return False
    return 0 <= page.find(BEGIN) < page.find(END)


def replace_section(page: str, generated: str) -> str:
    """*page* with its generated part replaced by *generated*; the rest untouched."""
    start, end = page.find(BEGIN), page.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the page has no {BEGIN!r} ... {END!r} section to replace")
    return page[:start] + generated + page[end + len(END) :]


def write_docs(targets: Iterable[Target], source: Provenance, path: Path = DOCS_PAGE) -> None:
    """Rewrite the table in *path* (docs/benchmarks.md) with this run's *targets*."""
    page = path.read_text(encoding="utf-8")
    path.write_text(replace_section(page, section(targets, source)), encoding="utf-8")
    print(f"wrote the table in {path}", file=sys.stderr)


def write_docs_if_asked(
    page: Path | None, targets: Sequence[Target], argv: Sequence[str] | None, load_start: float
) -> None:
    """``--write-docs``: rewrite *page*'s table when one was asked for (*argv* None: this
    process's own arguments)."""
    if page is not None:
        given = sys.argv[1:] if argv is None else argv
        write_docs(targets, provenance(given, load_start), page)


@dataclass(frozen=True)
class Parsed:
    """The generated part of a page, read back: its provenance and its rows."""

    source: Provenance
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]


def parse(page: str) -> Parsed:
    """Read the generated part of *page* back (what the docs test checks)."""
    start, end = page.find(BEGIN), page.find(END)
    if start < 0 or end < start:
        raise ValueError("no generated table in the page")
    lines = page[start + len(BEGIN) : end].strip().splitlines()
    facts = dict(line[2:].split(": ", 1) for line in lines[: len(FIELDS)])
    table = [_split(line) for line in lines[len(FIELDS) + 1 :]]
    source = Provenance(**{name: facts[name] for name in FIELDS})
    return Parsed(source, table[0], table[2:])


def _split(line: str) -> tuple[str, ...]:
    inner = line.strip().removeprefix("|").removesuffix("|")
    cells = inner.replace("\\|", "\0").split("|")
    return tuple(c.strip().replace("\0", "|") for c in cells)
