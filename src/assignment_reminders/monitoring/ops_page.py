"""The operator page: server-rendered HTML, one inline SVG chart, no external assets.

The chart plots each run of the last 30 days at its start time against its duration in minutes,
with the overrun limit drawn as a dashed line. Successful runs are dots, failed runs red crosses
and skipped runs grey ticks on the time axis. A few lines of inline script record the size the
browser gave the chart (``data-chart-*`` on ``<body>``), which is what the headless-browser test
reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from html import escape
from typing import Any

from .alerts import Alert

WIDTH, HEIGHT = 900, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 40
DAYS = 30


def _minutes(row: Mapping[str, Any], now: datetime) -> float:
    if row["status"] == "running":
        return float((now - row["started_at"]).total_seconds()) / 60
    return float(row.get("duration_ms") or 0.0) / 60_000


def chart(runs: Sequence[Mapping[str, Any]], now: datetime, limit_minutes: float) -> str:
    """The SVG: x = start time over the last 30 days, y = duration in minutes."""
    start = now - timedelta(days=DAYS)
    top_minutes = max([limit_minutes * 1.25, *(_minutes(r, now) * 1.1 for r in runs)])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(at: datetime) -> float:
        return LEFT + plot_w * max(0.0, min(1.0, (at - start) / (now - start)))

    def y(minutes: float) -> float:
        return TOP + plot_h * (1 - min(minutes, top_minutes) / top_minutes)

    parts = [
        f'<svg id="durations" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}"'
        f' viewBox="0 0 {WIDTH} {HEIGHT}" role="img" data-runs="{len(runs)}"'
        ' aria-label="Run durations over the last 30 days">',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa"'
        ' stroke="#ccc"/>',
    ]
    for day in range(0, DAYS + 1, 5):
        at = start + timedelta(days=day)
        parts.append(
            f'<text x="{x(at):.1f}" y="{HEIGHT - 18}" font-size="11" text-anchor="middle">'
            f"{at:%m-%d}</text>"
        )
    for frac in (0, 0.5, 1):
        m = top_minutes * frac
        parts.append(
            f'<text x="{LEFT - 6}" y="{y(m) + 4:.1f}" font-size="11" text-anchor="end">'
            f"{m:.0f}m</text>"
        )
    ly = y(limit_minutes)
    parts.append(
        f'<line class="limit" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ly:.1f}" y2="{ly:.1f}"'
        ' stroke="#d97706" stroke-dasharray="6 4" stroke-width="1.5"/>'
        f'<text x="{WIDTH - RIGHT - 4}" y="{ly - 4:.1f}" font-size="11" text-anchor="end"'
        f' fill="#d97706">{limit_minutes:.0f} min limit</text>'
    )
    for r in runs:
        cx, status = x(r["started_at"]), r["status"]
        title = escape(
            f"run {r['id']} {status} {r['started_at']:%Y-%m-%d %H:%M} UTC,"
            f" {_minutes(r, now):.1f} min" + (f": {r['error']}" if r.get("error") else "")
        )
        cls = f'class="run run-{status}" data-run-id="{r["id"]}"'
        if status == "skipped":
            base = TOP + plot_h
            parts.append(
                f'<line {cls} x1="{cx:.1f}" x2="{cx:.1f}" y1="{base:.1f}" y2="{base - 10:.1f}"'
                f' stroke="#6b7280" stroke-width="2"><title>{title}</title></line>'
            )
        elif status == "failed":
            cy = y(_minutes(r, now))
            parts.append(
                f'<path {cls} d="M{cx - 5:.1f} {cy - 5:.1f}l10 10m0 -10l-10 10" stroke="#dc2626"'
                f' stroke-width="2.5"><title>{title}</title></path>'
            )
        else:
            fill = "#2563eb" if status == "success" else "#f59e0b"
            parts.append(
                f'<circle {cls} cx="{cx:.1f}" cy="{y(_minutes(r, now)):.1f}" r="4" fill="{fill}">'
                f"<title>{title}</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)


_SCRIPT = """
const svg = document.getElementById('durations');
const box = svg.getBoundingClientRect();
document.body.dataset.chartWidth = Math.round(box.width);
document.body.dataset.chartHeight = Math.round(box.height);
document.body.dataset.chartMarkers = svg.querySelectorAll('.run').length;
document.body.dataset.chartLimitLine = svg.querySelectorAll('line.limit').length;
"""

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #111; }
table { border-collapse: collapse; } td, th { padding: .25rem .75rem; border-bottom: 1px solid #ddd;
text-align: left; } .legend span { margin-right: 1rem; } .ok { color: #15803d; }
"""


def render_page(
    *,
    job_name: str,
    runs: Sequence[Mapping[str, Any]],
    alerts: Sequence[Alert],
    backlog: Mapping[str, int],
    now: datetime,
    limit_minutes: float,
) -> str:
    counts = {s: sum(r["status"] == s for r in runs) for s in ("success", "failed", "skipped")}
    alert_rows = "".join(
        f"<tr><td>{escape(a.kind)}</td><td>{escape(a.message)}</td>"
        f"<td>{a.opened_at:%Y-%m-%d %H:%M} UTC</td></tr>"
        for a in alerts
    )
    if not backlog:
        backlog_html = '<p class="ok">Nothing waiting to be delivered.</p>'
    else:
        backlog_html = (
            "<table><tr><th>channel</th><th>waiting</th></tr>"
            + "".join(
                f"<tr><td>{escape(c)}</td><td>{n}</td></tr>" for c, n in sorted(backlog.items())
            )
            + "</table>"
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(job_name)}: operations</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(job_name)}</h1>"
        f"<p>As of {now:%Y-%m-%d %H:%M} UTC. Last {DAYS} days: {counts['success']} succeeded,"
        f" {counts['failed']} failed, {counts['skipped']} skipped.</p>"
        "<h2>Run durations</h2>"
        + chart(runs, now, limit_minutes)
        + '<p class="legend"><span style="color:#2563eb">&#9679; success</span>'
        '<span style="color:#dc2626">&#10005; failed</span>'
        '<span style="color:#6b7280">| skipped</span>'
        '<span style="color:#f59e0b">&#9679; running</span></p>'
        "<h2>Open alerts</h2>"
        + (
            f"<table><tr><th>kind</th><th>what</th><th>since</th></tr>{alert_rows}</table>"
            if alerts
            else '<p class="ok">No open alerts.</p>'
        )
        + "<h2>Delivery backlog</h2>"
        + backlog_html
        + f"<script>{_SCRIPT}</script></body></html>"
    )
