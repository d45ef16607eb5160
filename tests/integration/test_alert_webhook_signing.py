"""The alert webhook is signed per Standard Webhooks, like reminder webhooks: a real local HTTP
receiver verifies every request with the `standardwebhooks` library (PyPI) and refuses what does
not verify; the secret comes from REMINDERS_ALERT_WEBHOOK_SECRET and is required with the URL."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from assignment_reminders.config import Settings
from assignment_reminders.db.database import Connection
from assignment_reminders.exceptions import ConfigurationError
from assignment_reminders.monitoring.checks import FAILURE
from assignment_reminders.monitoring.monitor import run_checks
from assignment_reminders.monitoring.sinks import sinks_from_settings
from tests.alert_receivers import ALERT_WEBHOOK_SECRET, WebhookReceiver, webhook
from tests.receivers import Recorder, webhook_receiver
from tests.run_rows import T0, insert_run

__all__ = ["webhook"]

OTHER_SECRET = "whsec_" + base64.b64encode(b"another-secret-of-32-bytes-long!").decode()


def alert_settings(database_url: str, url: str, secret: str = ALERT_WEBHOOK_SECRET) -> Settings:
    return Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "REMINDERS_ALERT_WEBHOOK_URL": url,
            "REMINDERS_ALERT_WEBHOOK_SECRET": secret,
        }
    )


def test_alerts_and_recoveries_reach_a_verifying_receiver_signed(
    conn: Connection, database_url: str, webhook: WebhookReceiver
) -> None:
    settings = alert_settings(database_url, webhook.url)
    sinks = sinks_from_settings(settings)
    failed = insert_run(conn, "failed", T0, error="boom")
    opened = run_checks(conn, settings, now=T0 + timedelta(minutes=5), sinks=sinks, record=True)
    insert_run(conn, "success", T0 + timedelta(minutes=10))
    run_checks(conn, settings, now=T0 + timedelta(minutes=15), sinks=sinks, record=True)
    recorder = webhook.recorder
    assert recorder.rejected == []
    [incident] = [a for a in opened.changes.opened if a.kind == FAILURE]
    ids = [{k.lower(): v for k, v in i["headers"].items()}["webhook-id"] for i in recorder.arrivals]
    assert list(zip(ids, [i["json"]["event"] for i in recorder.arrivals], strict=True)) == [
        (f"alert-{incident.id}-alert", "alert"),
        (f"alert-{incident.id}-recovery", "recovery"),
    ]
    for item in recorder.arrivals:  # verified again here, by hand, with the library
        headers = {k.lower(): v for k, v in item["headers"].items()}
        assert Webhook(ALERT_WEBHOOK_SECRET).verify(item["body"], headers) == item["json"]
        sent_at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
        assert abs(datetime.now(UTC) - sent_at) < timedelta(minutes=5)  # the send's own time
    assert recorder.arrivals[0]["json"]["alert"]["kind"] == FAILURE, failed


def test_a_receiver_with_another_secret_refuses_and_the_log_says_so_without_the_url(
    conn: Connection, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    with webhook_receiver(recorder, secret=OTHER_SECRET) as url:
        settings = alert_settings(database_url, url)
        insert_run(conn, "failed", T0, error="boom")
        run_checks(
            conn,
            settings,
            now=T0 + timedelta(minutes=5),
            sinks=sinks_from_settings(settings),
            record=True,
        )
    assert recorder.arrivals == [] and recorder.rejected  # the signature did not verify
    assert "could not send alert" in caplog.text and "HTTP 401" in caplog.text
    assert "/hooks/" not in caplog.text


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"REMINDERS_ALERT_WEBHOOK_URL": "https://hooks.example/x"}, "ALERT_WEBHOOK_SECRET is not"),
        (
            {
                "REMINDERS_ALERT_WEBHOOK_URL": "https://hooks.example/x",
                "REMINDERS_ALERT_WEBHOOK_SECRET": "not-a-whsec",
            },
            "REMINDERS_ALERT_WEBHOOK_SECRET must be a Standard Webhooks secret",
        ),
    ],
)
def test_an_alert_webhook_without_a_valid_secret_is_refused_at_start_up(
    env: dict[str, str], words: str
) -> None:
    with pytest.raises(ConfigurationError, match=words):
        Settings.from_env(env)
