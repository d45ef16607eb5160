"""The reminder pass of this checkout against another commit's, on one server, taking turns: is
the daily run slower than it was (issue 18, item 6)?

Run: ``python -m benchmarks.versus --against a8441d2 [--assignments 1000000] [--rounds 3]``
(DATABASE_URL or a throwaway embedded PostgreSQL; about 4 minutes at 1M with 3 rounds, plus a
minute to install the other commit). ``--against`` checks the commit out in a temporary git
worktree and runs ``make install`` there (its own ``.venv``); ``--against-tree PATH`` uses a
checkout that is installed already. Each side runs its own ``reminders`` command, as cron would:

- each side migrates and seeds a database of its own (``reminders seed``, the same size, date and
  random seed), then VACUUM ANALYZE: the first run's template; a copy of it after that side's
  first run, VACUUM ANALYZE again: the next day's template;
- each round runs, on fresh copies after a CHECKPOINT, the first run at ``NOW`` and the next
  day's run a day later, for both sides, the side going first alternating from round to round;
- the figure is the run's own ``duration_ms`` (``reminders run --json``: the lock held to its
  release), and the table gives each round's and the medians' ratio, this checkout to the other.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import statistics
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import psycopg

from assignment_reminders.db.database import connect
from assignment_reminders.exceptions import first_line

from . import options
from .docs_page import short_commit
from .run import NOW, TODAY, checkpoint
from .scratch import Databases, cli_env, server

REPO = Path(__file__).resolve().parents[1]
DAY_AFTER = NOW + timedelta(days=1)
PHASES = ("first run", "next day")


@dataclass(frozen=True)
class Side:
    """A checkout and its installed ``reminders`` command."""

    label: str
    tree: Path

    @property
    def command(self) -> Path:
        return self.tree / ".venv" / "bin" / "reminders"


@dataclass
class Figures:
    """One side's seconds per phase, a figure per round."""

    seconds: dict[str, list[float]] = field(default_factory=lambda: {p: [] for p in PHASES})

    def median(self, phase: str) -> float:
        return statistics.median(self.seconds[phase])


def turns(rounds: int, sides: Sequence[Side]) -> Iterator[Side]:
    """Each round every side once, the side going first alternating from round to round."""
    for r in range(rounds):
        yield from (sides if r % 2 == 0 else list(reversed(sides)))


def reminders(side: Side, url: str, *args: str) -> str:
    """*side*'s ``reminders`` command on *url*; its stdout, or one line naming what failed."""
    done = subprocess.run(
        [str(side.command), *args], env=cli_env(url), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"versus: {side.label}: reminders {args[0]} failed: {last}")
    return done.stdout


def run_seconds(side: Side, url: str, now_iso: str) -> float:
    """One ``reminders run`` at *now_iso*: its own ``duration_ms``, in seconds."""
    args = ["run", "--json", "--now", now_iso]
    if refuses_distant_now(side):
        args.append("--allow-distant-now")  # the benchmark's NOW is days from the clock
    return float(json.loads(reminders(side, url, *args))["duration_ms"]) / 1000


@functools.cache
def refuses_distant_now(side: Side) -> bool:
    """Whether *side*'s ``reminders run`` wants a flag for a ``--now`` far from the database's
    clock (commits before 2026-12-06 took any)."""
    usage = subprocess.run(
        [str(side.command), "run", "--help"], check=False, capture_output=True, text=True
    )
    return "--allow-distant-now" in usage.stdout


def vacuum(url: str) -> None:
    with connect(url, purpose="bench") as conn:
        conn.execute("VACUUM ANALYZE")


def templates(dbs: Databases, side: Side, assignments: int) -> dict[str, str]:
    """*side*'s two templates by phase: seeded, and seeded plus its own first run."""
    seeded = dbs.create()
    reminders(side, seeded, "migrate")
    seed = ["seed", "--assignments", str(assignments), "--today", TODAY.isoformat()]
    reminders(side, seeded, *seed, "--random-seed", "1")
    vacuum(seeded)
    day = dbs.create(template=dbs.name_of(seeded))
    run_seconds(side, day, NOW.isoformat())
    vacuum(day)
    return {"first run": dbs.name_of(seeded), "next day": dbs.name_of(day)}


def measure(dbs: Databases, sides: Sequence[Side], assignments: int, rounds: int) -> list[Figures]:
    made = {side: templates(dbs, side, assignments) for side in sides}
    figures = {side: Figures() for side in sides}
    for side in turns(rounds, sides):
        for phase, now in zip(PHASES, (NOW, DAY_AFTER), strict=True):
            copy = dbs.create(template=made[side][phase])
            checkpoint(copy)
            figures[side].seconds[phase].append(run_seconds(side, copy, now.isoformat()))
            dbs.drop(copy)
    return [figures[side] for side in sides]


def table(sides: Sequence[Side], figures: Sequence[Figures]) -> str:
    """Each phase's rounds and median per side, and this side's median over the other's."""
    (ours, theirs), (mine, other) = sides, figures
    head = ["phase", f"{ours.label} (s)", f"{theirs.label} (s)", "ratio of medians"]
    rows = [head, ["---"] * len(head)]
    for phase in PHASES:
        cells = [
            ", ".join(f"{s:.2f}" for s in f.seconds[phase]) + f" (median {f.median(phase):.2f})"
            for f in (mine, other)
        ]
        rows.append([phase, *cells, f"{mine.median(phase) / other.median(phase):.2f}x"])
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


@contextmanager
def checked_out(commit: str) -> Iterator[Path]:
    """*commit* in a temporary git worktree with its ``.venv`` installed; removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="reminders-versus-") as tmp:
        tree = Path(tmp) / "tree"
        git = ["git", "-C", str(REPO)]
        try:
            step(f"check out {commit}", [*git, "worktree", "add", "--detach", str(tree), commit])
            step(f"install {commit}", ["make", "-C", str(tree), "install"])
            yield tree
        finally:
            subprocess.run(
                [*git, "worktree", "remove", "--force", str(tree)], capture_output=True, check=False
            )


def step(what: str, command: list[str]) -> None:
    """*command*, its output kept; a failure is one line (its last line of stderr) and exit 1."""
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"versus: could not {what}: {last}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.versus", description=__doc__.splitlines()[0]
    )
    other = parser.add_mutually_exclusive_group(required=True)
    other.add_argument("--against", metavar="COMMIT", help="the commit to compare with")
    other.add_argument(
        "--against-tree", metavar="PATH", type=Path, help="an installed checkout to compare with"
    )
    options.add_assignments(parser, 1_000_000)
    parser.add_argument(
        "--rounds",
        type=options.positive,
        default=3,
        help="rounds of both phases on both sides (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.against_tree is not None and not (args.against_tree / ".venv/bin/reminders").exists():
        parser.error(f"--against-tree: no .venv/bin/reminders in {args.against_tree}")
    with other_tree(args.against, args.against_tree) as tree:
        sides = [Side(f"this ({short_commit(REPO)})", REPO), Side(short_commit(tree), tree)]
        try:
            with server() as admin_url:
                dbs = Databases(admin_url, prefix="versus")
                try:
                    figures = measure(dbs, sides, args.assignments, args.rounds)
                finally:
                    with contextlib.suppress(psycopg.Error):  # a server gone took them along
                        dbs.drop_all()
        except psycopg.Error as exc:
            raise SystemExit(f"versus: the database failed: {first_line(exc)}") from None
    print(f"N={args.assignments:,}, {args.rounds} round(s), load average {os.getloadavg()[0]:.2f}")
    print(table(sides, figures))


@contextmanager
def other_tree(commit: str | None, tree: Path | None) -> Iterator[Path]:
    """*tree* as it is, or *commit* checked out and installed for the length of the run."""
    if tree is not None:
        yield tree
        return
    assert commit is not None  # argparse requires one of the two
    with checked_out(commit) as checked:
        yield checked


if __name__ == "__main__":
    main()
