"""The targets of issue 12, each printed next to its figure and its ratio to the baseline
measured in the same benchmark run."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .results import SizeResult, created_by, in_run
from .startup import Startup

MILLION = 1_000_000


@dataclass(frozen=True)
class Target:
    """One row of the targets table; *met* None for a row printed to inform, not a target."""

    what: str
    figure: str
    target: str
    baseline: str
    met: bool | None


def size_targets(s: SizeResult) -> list[Target]:
    """The pass's targets, for N of a million or more (smaller N have none)."""
    if s.n < MILLION:
        return []
    first, rerun, next_day = in_run(s.run), in_run(s.rerun), in_run(s.next_day)
    per_reminder = first / max(1, created_by(s.run))
    next_limit = 0.3 + per_reminder * created_by(s.next_day)
    rerun_limit = 0.3 if s.n <= MILLION else 0.5
    rss = max(r.peak_rss_mb for r in (s.run, s.rerun, s.next_day))
    n = f"{s.n:,}"
    targets = [
        Target(
            f"{n}: first run (in-run)",
            f"{first:.2f} s",
            f"<= 1.3x floor ({1.3 * s.floor_s:.2f} s)",
            f"{first / s.floor_s:.2f}x floor",
            first <= 1.3 * s.floor_s,
        ),
        Target(
            f"{n}: idempotent re-run (in-run)",
            f"{rerun:.3f} s",
            f"<= {rerun_limit} s",
            f"{rerun / s.floor_s:.3f}x floor",
            rerun <= rerun_limit,
        ),
        Target(
            f"{n}: next day's run (in-run)",
            f"{next_day:.2f} s, {created_by(s.next_day):,} new",
            f"<= 0.3 s + {created_by(s.next_day):,} x {per_reminder * 1e6:.0f} us"
            f" = {next_limit:.2f} s",
            f"{next_day / s.floor_s:.3f}x floor",
            next_day <= next_limit,
        ),
        Target(
            f"{n}: peak RSS",
            f"{rss:.0f} MB",
            "<= 150 MB",
            "-",
            rss <= 150,
        ),
    ]
    if s.n >= 10 * MILLION:
        targets.append(
            Target(
                f"{n}: seed",
                f"{s.seed_s:.0f} s",
                "<= 180 s",
                f"{s.seed_s / s.floor_s:.2f}x floor",
                s.seed_s <= 180,
            )
        )
    return targets


def startup_target(startup: Startup) -> Target:
    return Target(
        "start-up: run on an empty database (wall)",
        f"{startup.run_s:.2f} s",
        "<= 0.5 s",
        f"{startup.run_s / startup.interpreter_s:.1f}x python -c pass"
        f" ({startup.interpreter_s:.2f} s)",
        startup.run_s <= 0.5,
    )


def met_text(met: bool | None) -> str:
    """The met column: yes, NO, or - for a row that informs."""
    return "-" if met is None else "yes" if met else "NO"


def render(targets: Iterable[Target]) -> str:
    rows = [("target", "figure", "goal", "ratio to baseline", "met")]
    rows += [(t.what, t.figure, t.target, t.baseline, met_text(t.met)) for t in targets]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)
