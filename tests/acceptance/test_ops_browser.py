"""/ops as a person meets it in headless Chromium (driven over the DevTools protocol,
tests/cdp.py): signing in with the ops token, the page refreshing itself on the session cookie,
signing out; and the page at a phone's width (390 px) and a desktop's (1400 px), screenshotted."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from assignment_reminders.db.database import Connection
from tests.acceptance import test_monitoring_ops_page as ops_page
from tests.acceptance.test_monitoring_ops_page import (
    STATE_COLOURS,
    chromium,
    two_hours_ago_daily,
)
from tests.cdp import Chromium, Event
from tests.png import read_png
from tests.run_rows import insert_run
from tests.served import served

pytestmark = pytest.mark.slow

artifacts = ops_page.artifacts  # the fixture: where the screenshots go

TOKEN = "ops-token-for-the-browser-test-0123456789abcdef"
FAILED_RED = (0xB9, 0x1C, 0x1C)  # --failing: the status word of a failed run
LONG_ERROR = (
    "UniqueViolation: duplicate key value violates unique constraint"
    ' "reminder_dispatches_key" while the batch of escalations for the second reminder tier was'
    " being written; the transaction was rolled back and nothing of this batch was kept"
)


def one_day_of_runs(conn: Connection, fired: datetime) -> None:
    """Every run of the last 30 days within one day: a few hours of manual runs after a
    scheduled one that failed with a long error."""
    insert_run(conn, "success", fired - timedelta(hours=9), minutes=3, trigger_source="cli")
    insert_run(conn, "success", fired - timedelta(hours=6), minutes=4, trigger_source="cli")
    insert_run(
        conn,
        "skipped",
        fired - timedelta(hours=6) + timedelta(seconds=5),
        minutes=0,
        note="advisory_lock_held",
        trigger_source="http",
    )
    insert_run(conn, "success", fired - timedelta(hours=3), minutes=2, trigger_source="cli")
    insert_run(
        conn,
        "failed",
        fired + timedelta(minutes=1),
        minutes=1,
        trigger_source="builtin-cron",
        due_rows_read=400,
        error=LONG_ERROR,
    )


@pytest.fixture
def site(conn: Connection, cli_env: dict[str, str]) -> Iterator[str]:
    expression, fired = two_hours_ago_daily()
    one_day_of_runs(conn, fired)
    env = {
        **cli_env,
        "REMINDERS_OPS_TOKEN": TOKEN,
        "REMINDERS_SCHEDULE": expression,
        "REMINDERS_SCHEDULE_TZ": "Europe/Oslo",
    }
    with served(env, "--no-builtin-cron") as base:
        yield base


def path(browser: Chromium) -> str:
    return str(browser.evaluate("location.pathname + location.search"))


def document_response(browser: Chromium, since: int, url: str) -> Event:
    """The next page (not a redirect) loaded from *url*."""
    return browser.wait_event(
        "Network.responseReceived",
        since,
        lambda e: e["params"]["type"] == "Document" and e["params"]["response"]["url"] == url,
    )


def test_a_person_signs_in_the_page_refreshes_itself_and_signing_out_ends_it(
    site: str, tmp_path: Path
) -> None:
    with Chromium(chromium(), tmp_path / "profile", width=1400, height=900) as browser:
        browser.navigate(f"{site}/ops")
        assert path(browser) == "/ops/sign-in?next=/ops"
        browser.submit("#sign-in", token="not-the-token")
        assert path(browser) == "/ops/sign-in"
        assert browser.evaluate("document.getElementById('error').textContent") == (
            "That is not the ops token."
        )
        assert browser.page("Network.getCookies")["cookies"] == []
        browser.submit("#sign-in", token=TOKEN)
        assert path(browser) == "/ops"
        assert browser.evaluate("document.body.dataset.state") == "failing"
        assert browser.evaluate("document.cookie") == ""  # HttpOnly: no script can read it
        [cookie] = browser.page("Network.getCookies")["cookies"]
        assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Strict")
        assert TOKEN not in cookie["value"]
        assert 11 * 3600 < cookie["expires"] - datetime.now(UTC).timestamp() <= 12 * 3600
        # the page's own refresh (<meta http-equiv="refresh" content="60">), on virtual time
        since = browser.mark()
        browser.page("Emulation.setVirtualTimePolicy", policy="advance", budget=61_000)
        refreshed = document_response(browser, since, f"{site}/ops")
        assert refreshed["params"]["response"]["status"] == 200
        # virtual time pauses once its budget is spent: a little more lets the new page load
        # (less than a minute more: it does not refresh again)
        browser.page("Emulation.setVirtualTimePolicy", policy="advance", budget=5_000)
        browser.loaded(since)
        assert path(browser) == "/ops"
        assert browser.evaluate("document.body.dataset.state") == "failing"
        # signing out: the button on the page (in a new tab: the old one's clock is paused)
        browser.open_page()
        browser.navigate(f"{site}/ops")
        since = browser.mark()
        browser.evaluate("document.getElementById('sign-out').click()")
        browser.loaded(since)
        assert path(browser) == "/ops/sign-in?reason=signed-out"
        assert browser.evaluate("document.getElementById('note').textContent") == "Signed out."
        assert browser.page("Network.getCookies")["cookies"] == []
        browser.navigate(f"{site}/ops")
        assert path(browser) == "/ops/sign-in?next=/ops"


def layout(browser: Chromium) -> dict[str, Any]:
    """What the test checks of the laid-out page, measured by the browser."""
    result: dict[str, Any] = browser.evaluate(
        """(() => {
        const box = (el) => el.getBoundingClientRect();
        const rows = [...document.querySelectorAll('#runs tr.run-row')];
        const svg = document.getElementById('durations');
        const plot = box(svg);
        const scale = plot.width / svg.viewBox.baseVal.width;
        // the plot's margins (64 and 820 on a page from before they were written on the chart)
        const left = Number(svg.dataset.plotLeft || 64);
        const width = Number(svg.dataset.plotWidth || 820);
        const xs = [...svg.querySelectorAll('.run')].map(
            (m) => ((box(m).left + box(m).width / 2 - plot.left) / scale - left) / width);
        const failed = rows.find((r) => r.dataset.status === 'failed');
        const status = failed.querySelector('.status');
        return {
            innerWidth: window.innerWidth,
            scrollWidth: document.documentElement.scrollWidth,
            heights: Object.fromEntries(['success', 'failed', 'skipped'].map((s) => [s,
                rows.filter((r) => r.dataset.status === s).map((r) => box(r).height)])),
            failedStatus: [box(status).left + scrollX, box(status).top + scrollY,
                           box(status).width, box(status).height],
            errorHeight: box(failed.querySelector('td.error')).height,
            cards: getComputedStyle(document.querySelector('#runs tr')).display === 'block',
            markerSpread: Math.max(...xs) - Math.min(...xs),
            markers: xs.length,
        };
    })()"""
    )
    return result


@pytest.mark.parametrize("width", [390, 1400], ids=["phone", "desktop"])
def test_the_page_fits_a_phone_and_a_desktop(
    site: str,
    tmp_path: Path,
    artifacts: Path,
    width: int,
) -> None:
    with Chromium(chromium(), tmp_path / "profile", width=1400, height=900) as browser:
        browser.navigate(f"{site}/ops/sign-in")
        browser.submit("#sign-in", token=TOKEN)
        browser.resize(width, 844 if width < 700 else 900, mobile=width < 700)
        browser.navigate(f"{site}/ops")
        measured = layout(browser)
        shot = artifacts / f"ops-{width}px.png"
        browser.screenshot(shot)
    (artifacts / f"ops-{width}px.json").write_text(json.dumps(measured, indent=1))
    # nothing makes the page itself scroll sideways: the runs table scrolls in its box or
    # becomes cards, the chart keeps to its box
    assert measured["innerWidth"] == width
    assert measured["scrollWidth"] <= measured["innerWidth"], measured
    assert measured["cards"] is (width < 700)
    # a failed run's row is about as tall as the others, not a tall band around its error
    heights = measured["heights"]
    typical = statistics.median(heights["success"])
    if measured["cards"]:  # a card: the others' lines plus its error's, nothing blank
        assert max(heights["failed"]) <= typical + measured["errorHeight"] + 8, measured
    else:  # a table row: the error wraps in a wide cell instead of stretching the row
        assert max(heights["failed"]) <= 1.8 * typical, measured
    # the chart's time axis spans the runs it shows: the runs of the last 11 hours spread
    # across its width (the last one two hours before now), not crowded at its right edge
    assert measured["markers"] == 5
    assert measured["markerSpread"] >= 0.7, measured
    # the screenshot: the page's width, the headline's colour, the failed run's red status word
    left, top, w, h = (round(v) for v in measured["failedStatus"])
    image = read_png(shot, max_rows=top + h + 1)
    assert image.width == width
    assert image.pixel(4, 4) == STATE_COLOURS["failing"]
    row = [image.pixel(x, y) for y in range(top, top + h) for x in range(left, left + w)]
    assert any(all(abs(a - b) <= 40 for a, b in zip(p, FAILED_RED, strict=True)) for p in row)
