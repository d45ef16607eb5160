"""Where the bulk registration's write tax goes: each part of the triggers' work, against the
floor's statements one by one (the "where it goes" paragraph of docs/benchmarks.md).

Run: ``python -m benchmarks.write_tax_parts [--assignments 200000] [--rows 50000] [--repeats 5]``
(DATABASE_URL or a throwaway embedded PostgreSQL; one scratch database, seeded as the write-tax
benchmark seeds it, dropped afterwards).

The bulk registration of ``benchmarks/write_tax.py`` (the same rows): in the scratch database only,
the trigger functions it runs are replaced by copies with a ``RAISE NOTICE`` of
``clock_timestamp()`` before each of their top-level statements, so each part is the time from one
notice to the next (the first part is the app's INSERT itself, with its transition table). The
floor's statements (the baselines, the INSERT with our triggers off, the date update, the due rows
deleted and inserted again) are timed one by one. Each way runs ``--repeats`` times, rolled back,
with a VACUUM and (where the role may) a CHECKPOINT between; each part's figure is its fastest.
Each part is named by the statement it starts at; an IF's part includes the statements inside
it. The notices themselves cost a few microseconds each, a dozen per statement.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from assignment_reminders.db.database import Connection, connect
from assignment_reminders.db.migrations import migrate
from assignment_reminders.dev.seed import seed

from . import options
from .scratch import scratch_database
from .write_tax import (
    BASELINES,
    BULK_ACTIVITIES,
    BULK_DATES,
    BULK_INDEX_DELETE,
    INDEX_COLUMNS,
    TODAY,
    Way,
    cases,
    disable,
    duration,
    index_insert,
    our_triggers,
    tidy,
)

# The trigger functions a bulk registration runs, in the order they run.
FUNCTIONS = (
    "reminders.activities_after_insert()",
    "reminders.assignment_due_after_update()",
    "reminders.refresh_assignment_due(bigint[],boolean)",
)
STATEMENT = re.compile(r"^    (PERFORM|EXECUTE|UPDATE|INSERT|DELETE|SELECT|IF|RETURN NULL;)")
MARK = re.compile(r"^MARK (\S+ \S+) (.*)$")


def instrumented(source: str, function: str) -> str:
    """*source* (``pg_get_functiondef``) with a notice before each top-level statement of its
    body: a line at the body's indent that follows a finished statement, outside ``$sql$``."""
    name = function.split(".")[1].split("(", maxsplit=1)[0]
    out: list[str] = []
    previous, quoted, step = "", False, 0
    for line in source.split("\n"):
        finished = previous.rstrip().endswith((";", "BEGIN", "THEN"))
        if not quoted and finished and STATEMENT.match(line):
            step += 1
            what = line.strip()[:48].replace("'", "")
            out.append(
                f"    RAISE NOTICE 'MARK % {name}#{step} {what}',"
                " to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US');"
            )
        out.append(line)
        if line.count("$sql$") % 2:
            quoted = not quoted
        if line.strip() and not line.strip().startswith("--"):
            previous = line
    return "\n".join(out)


def instrument(conn: Connection) -> None:
    for function in FUNCTIONS:
        row = conn.execute(
            "SELECT pg_get_functiondef(%(f)s::regprocedure) AS source", {"f": function}
        ).fetchone()
        assert row is not None
        conn.execute(instrumented(str(row["source"]), function).encode())


@dataclass(frozen=True)
class Part:
    what: str
    seconds: float


def trigger_parts(conn: Connection, params: dict[str, Any], repeats: int) -> list[Part]:
    """The fastest time of each part of the bulk registration with the (instrumented) triggers."""
    marks: list[str] = []
    conn.add_notice_handler(lambda d: marks.append(d.message_primary or ""))
    best: dict[int, Part] = {}
    for _ in range(repeats):
        marks.clear()
        conn.execute("BEGIN")
        started = datetime.now(UTC)
        conn.execute(BULK_ACTIVITIES, params, prepare=False)
        ended = datetime.now(UTC)
        conn.execute("ROLLBACK")
        tidy(conn)
        before, what = started, "the INSERT itself (rows, keys, transition table)"
        steps: list[Part] = []
        for mark in marks:
            found = MARK.match(mark)
            if found is None:
                continue
            at = datetime.fromisoformat(found.group(1)).replace(tzinfo=UTC)
            steps.append(Part(what, (at - before).total_seconds()))
            before, what = at, found.group(2)
        steps.append(Part(what, (ended - before).total_seconds()))
        for i, part in enumerate(steps):
            if i not in best or part.seconds < best[i].seconds:
                best[i] = part
    return [best[i] for i in sorted(best)]


def floor_parts(
    conn: Connection, params: dict[str, Any], columns: Sequence[str], repeats: int
) -> list[Part]:
    """The fastest time of each of the floor's statements, run one by one with our triggers off."""
    statements: list[tuple[str, Any]] = [
        ("baselines", BASELINES),
        ("the INSERT, triggers off", BULK_ACTIVITIES),
        ("the date update", BULK_DATES),
        ("due rows deleted", BULK_INDEX_DELETE),
        ("due rows inserted", index_insert(columns, "e.assignment_id = ANY (%(ids)s::bigint[])")),
    ]
    triggers = our_triggers(conn)
    best: dict[str, float] = {}
    for _ in range(repeats):
        conn.execute("BEGIN")
        disable(conn, triggers)
        for what, query in statements:
            started = time.perf_counter()
            conn.execute(query, params, prepare=query is not BULK_ACTIVITIES)
            seconds = time.perf_counter() - started
            best[what] = min(best.get(what, seconds), seconds)
        conn.execute("ROLLBACK")
        tidy(conn)
    return [Part(what, best[what]) for what, _ in statements]


def render(title: str, parts: Sequence[Part]) -> str:
    width = max(len(p.what) for p in parts)
    lines = [title] + [f"  {p.what.ljust(width)}  {duration(p.seconds):>10}" for p in parts]
    total = sum(p.seconds for p in parts)
    lines.append(f"  {'sum of the fastest'.ljust(width)}  {duration(total):>10}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.write_tax_parts", description=__doc__.splitlines()[0]
    )
    options.add_assignments(parser, 200_000)
    parser.add_argument("--rows", type=options.positive, default=50_000)
    parser.add_argument("--repeats", type=options.positive, default=5)
    args = parser.parse_args(argv)
    with scratch_database("bench_write_tax_parts") as url, connect(url, purpose="bench") as conn:
        print(f"write tax parts: seeding {args.assignments:,} ...", file=sys.stderr, flush=True)
        migrate(conn)
        seed(conn, assignments=args.assignments, today=TODAY, random_seed=1)
        conn.execute("VACUUM ANALYZE")
        columns = [str(r["attname"]) for r in conn.execute(INDEX_COLUMNS)]
        # write_tax's own rows (with its default --singles, which draws from the same sequence)
        bulk = next(c for c in cases(conn, args.rows, 200) if c.what.startswith("bulk "))
        params = dict(bulk.calls(Way.TRIGGERS)[0][0][1])
        floor = floor_parts(conn, params, columns, args.repeats)
        instrument(conn)
        parts = trigger_parts(conn, params, args.repeats)
    what = f"{len(params['ids']):,} activities at {args.assignments:,} assignments"
    print(render(f"The bulk registration with triggers ({what}), fastest of each part:", parts))
    print()
    print(render("The floor's statements, one by one, fastest of each:", floor))


if __name__ == "__main__":
    main()
