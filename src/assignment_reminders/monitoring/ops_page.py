"""The operator page: server-rendered HTML (templates/ops.html), one inline SVG chart, no external
assets, refreshing itself every minute.

From the top: the headline state and why (:mod:`.ops_state`); last success, schedule, next
expected run, lock holder; the recent runs as a table (short errors only: no row values); open and
recent incidents with their recovery; deliveries waiting, sent and dead per channel; and a chart
of each run of the last 30 days at its start time against its duration, both axes fitted to the
runs it shows (time from a little before the earliest to now; the overrun limit is drawn when it
falls inside). A few lines of inline script record the
size the browser gave the chart (``data-chart-*`` on ``<body>``) for the headless-browser test.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from html import escape
from typing import TYPE_CHECKING, Any, Final

from ..figures import duration
from ..job.run_row import RunRow
from ..job.run_status import RunStatus
from .metrics import DEAD, summarize_backlog
from .ops_state import Headline, OpsFacts
from .redact import short_error
from .truth import Incident, IncidentState

if TYPE_CHECKING:
    import jinja2

WIDTH, HEIGHT = 900, 320
LEFT, RIGHT, TOP, BOTTOM = 64, 52, 16, 40  # duration labels on both sides (a phone shows the right)
DAYS = 30
TABLE_ROWS = 25
REFRESH_SECONDS = 60
_STEPS: Final = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)  # seconds
_TIME_STEPS: Final = tuple(timedelta(hours=h) for h in (1, 2, 3, 6, 12, 24, 48, 120, 168))
MIN_SPAN: Final = timedelta(hours=1)


def _seconds(row: RunRow, now: datetime) -> float:
    if row.status == RunStatus.RUNNING:
        return float((now - row.started_at).total_seconds())
    return float(row.duration_ms or 0.0) / 1000


def _label(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:g} min"


def axis(longest_seconds: float) -> tuple[float, float]:
    """(top, step) in seconds: at most 5 steps, the top a little above the longest run."""
    wanted = max(longest_seconds * 1.15, 1.0)
    step = next((s for s in _STEPS if wanted / s <= 5), _STEPS[-1] * 2)
    top = step * max(1, -(-wanted // step))
    return float(top), float(step)


def time_axis(starts: Sequence[datetime], now: datetime) -> tuple[datetime, timedelta]:
    """(left edge, tick step) of the time axis: from a little (5 %) before the earliest run to
    *now*, at least an hour and at most the last 30 days, so one day's runs spread across the
    chart instead of crowding its right edge; at most 8 ticks."""
    earliest = min(starts, default=now - timedelta(days=DAYS))
    span = min(max(now - earliest, MIN_SPAN) * 1.05, timedelta(days=DAYS))
    step = next((s for s in _TIME_STEPS if span / s <= 8), _TIME_STEPS[-1])
    return now - span, step


def time_ticks(left: datetime, now: datetime, step: timedelta, zone: tzinfo) -> list[datetime]:
    """Round local times (whole hours, midnights) from *left* to *now*, *step* apart."""
    local = left.astimezone(zone).replace(minute=0, second=0, microsecond=0)
    if step >= timedelta(days=1):
        local = local.replace(hour=0)
    hours = int(step.total_seconds() // 3600)
    ticks = []
    while local <= now:
        if local >= left and (hours >= 24 or local.hour % hours == 0):
            ticks.append(local)
            local += step
        else:
            local += timedelta(hours=1) if hours < 24 else timedelta(days=1)
    return ticks


def chart(runs: Sequence[RunRow], now: datetime, limit_minutes: float, zone: tzinfo = UTC) -> str:
    """The SVG: x = start time, y = duration, both fitted to the runs (:func:`time_axis`,
    :func:`axis`); times labelled in *zone*."""
    start, every = time_axis([r.started_at for r in runs], now)
    top, step = axis(max((_seconds(r, now) for r in runs), default=0.0))
    limit = limit_minutes * 60
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(at: datetime) -> float:
        return LEFT + plot_w * max(0.0, min(1.0, (at - start) / (now - start)))

    def y(seconds: float) -> float:
        return TOP + plot_h * (1 - min(seconds, top) / top)

    parts = [
        f'<svg id="durations" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}"'
        f' viewBox="0 0 {WIDTH} {HEIGHT}" role="img" data-runs="{len(runs)}"'
        f' data-axis-top="{top:g}" data-axis-start="{start.isoformat()}"'
        f' data-axis-end="{now.isoformat()}" data-plot-left="{LEFT}"'
        f' data-plot-width="{plot_w}" aria-label="Run durations over the last 30 days">',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa"'
        ' stroke="#ccc"/>',
    ]
    for at in time_ticks(start, now, every, zone):
        label = "%m-%d" if every >= timedelta(days=1) or at.hour == 0 else "%H:%M"
        parts.append(
            f'<text class="time-tick" x="{x(at):.1f}" y="{HEIGHT - 18}" font-size="11"'
            f' text-anchor="middle">{at.strftime(label)}</text>'
        )
    tick = 0.0
    while tick <= top + 1e-9:
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"'
            ' stroke="#eee"/>'
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" font-size="11" text-anchor="end">'
            f"{_label(tick)}</text>"
            f'<text x="{WIDTH - RIGHT + 6}" y="{y(tick) + 4:.1f}" font-size="11">'
            f"{_label(tick)}</text>"
        )
        tick += step
    if limit <= top:
        ly = y(limit)
        parts.append(
            f'<line class="limit" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ly:.1f}" y2="{ly:.1f}"'
            ' stroke="#d97706" stroke-dasharray="6 4" stroke-width="1.5"/>'
            f'<text x="{WIDTH - RIGHT - 4}" y="{ly - 4:.1f}" font-size="11" text-anchor="end"'
            f' fill="#d97706">{limit_minutes:.0f} min limit</text>'
        )
    else:
        parts.append(
            f'<text class="limit-note" x="{WIDTH - RIGHT - 4}" y="{TOP + 12}" font-size="11"'
            f' text-anchor="end" fill="#d97706">{limit_minutes:.0f} min limit: above every'
            " run</text>"
        )
    for r in runs:
        parts.append(_marker(r, now, x(r.started_at), y, TOP + plot_h))
    parts.append("</svg>")
    return "".join(parts)


def _marker(r: RunRow, now: datetime, cx: float, y: Any, base: float) -> str:
    status = r.status
    error = short_error(r.error)
    title = escape(
        f"run {r.id} {status} {r.started_at:%Y-%m-%d %H:%M} UTC,"
        f" {_label(_seconds(r, now))}" + (f": {error}" if error else "")
    )
    cls = f'class="run run-{status}" data-run-id="{r.id}"'
    if status == RunStatus.SKIPPED:
        return (
            f'<line {cls} x1="{cx:.1f}" x2="{cx:.1f}" y1="{base:.1f}" y2="{base - 10:.1f}"'
            f' stroke="#6b7280" stroke-width="2"><title>{title}</title></line>'
        )
    cy = y(_seconds(r, now))
    if status == RunStatus.FAILED:
        return (
            f'<path {cls} d="M{cx - 5:.1f} {cy - 5:.1f}l10 10m0 -10l-10 10" stroke="#dc2626"'
            f' stroke-width="2.5"><title>{title}</title></path>'
        )
    fill = "#2563eb" if status == RunStatus.SUCCESS else "#f59e0b"
    return (
        f'<circle {cls} cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="{fill}">'
        f"<title>{title}</title></circle>"
    )


def _when(at: datetime | None, f: OpsFacts, zone_name: bool = True) -> str:
    if at is None:
        return ""
    return f"{at.astimezone(f.zone):%Y-%m-%d %H:%M}" + (
        f" {at.astimezone(f.zone):%Z}" if zone_name else ""
    )


def _run_row(r: RunRow, f: OpsFacts) -> dict[str, Any]:
    seconds = _seconds(r, f.now)
    return {
        "id": r.id,
        "status": r.status,
        "trigger": r.trigger_source or "",
        "started": _when(r.started_at, f, zone_name=False),
        "duration": duration(timedelta(seconds=seconds)) if r.status != RunStatus.SKIPPED else "",
        "due_rows": r.due_rows_read,
        "reminders": r.reminders_created,
        "escalations": r.escalations_created,
        "duplicates": r.duplicates_suppressed,
        "note": r.note or "",
        "error": short_error(r.error) or "",
    }


def page_context(f: OpsFacts, headline: Headline, limit_minutes: float) -> dict[str, Any]:
    pending = summarize_backlog(dict(f.deliveries))
    channels = sorted({c for c, _ in f.deliveries})
    deliveries = [
        {
            "channel": c,
            "waiting": pending.get(c, 0),
            "dead": sum(n for (ch, s), n in f.deliveries.items() if ch == c and s in DEAD),
        }
        for c in channels
    ]
    holder = None
    if f.holder is not None:
        holder = {
            "pid": f.holder.pid,
            "name": f.holder.application_name or "",
            "since": _when(f.holder_since, f),
        }
    return {
        "job_name": f.job_name,
        "headline": headline,
        "refresh_seconds": REFRESH_SECONDS,
        "days": DAYS,
        "zone": f.zone.key,
        "schedule": f.schedule,
        "builtin_cron": f.builtin_cron,
        "as_of": _when(f.now, f),
        "last_success": (
            {"when": _when(f.last_success_at, f), "age": duration(f.now - f.last_success_at)}
            if f.last_success_at is not None
            else None
        ),
        "next_run": (
            {"when": _when(f.next_fire, f), "age": duration(f.next_fire - f.now)}
            if f.next_fire is not None
            else None
        ),
        "holder": holder,
        "runs": [_run_row(r, f) for r in list(reversed(f.runs))[:TABLE_ROWS]],
        "incidents": [
            {
                "kind": i.kind,
                "message": short_error(i.message),
                "opened": _when(i.opened_at, f),
                "resolved": _when(i.resolved_at, f),
                "lasted": duration((i.resolved_at or f.now) - i.opened_at),
                "state": _incident_state(i),
            }
            for i in f.truth.incidents
        ],
        "deliveries": deliveries,
        "backlog": sum(pending.values()),
        "chart": chart(f.runs, f.now, limit_minutes, f.zone),
    }


@functools.cache
def template(name: str = "ops.html") -> jinja2.Template:
    """Compiled once per process: compiling it is most of the cost of a small page."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("assignment_reminders", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template(name)


def _incident_state(i: Incident) -> str:
    """The incident's state word as the page shows it (the recovered column of an open one)."""
    said = {
        IncidentState.OPEN: "open",
        IncidentState.NEW: "open (the next check alerts it)",
        IncidentState.CLEARING: "clearing (the next check resolves it)",
        IncidentState.RESOLVED: "resolved",
    }[i.state]
    a = i.alert
    if a is not None and a.acknowledged_by:
        said += f", acknowledged by {a.acknowledged_by}"
    if a is not None and a.muted_by is not None:
        said += f", muted (maintenance window {a.muted_by})"
    return said


def render_page(facts: OpsFacts, *, sign_out: str | None = None) -> str:
    """*sign_out*: the path of the sign-out form to show (a person signed in), or None."""
    limit_minutes = facts.overrun_after.total_seconds() / 60
    context = page_context(facts, facts.truth.headline, limit_minutes)
    return template().render(context, sign_out=sign_out)
