"""Delivery pieces without I/O: retry policy, signatures, templates, settings, progress."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import random
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from assignment_reminders.cli.progress import Progress
from assignment_reminders.config import Settings, webhook_key
from assignment_reminders.delivery.messages import Delivery, Renderer
from assignment_reminders.delivery.retry import RetryPolicy
from assignment_reminders.delivery.signing import new_secret, sign
from assignment_reminders.delivery.states import DrainResult
from assignment_reminders.exceptions import ConfigurationError
from assignment_reminders.job.counts import RunCounts

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def delivery(kind: str = "reminder", language: str = "en") -> Delivery:
    return Delivery(
        id=1,
        channel="email",
        attempts=1,
        idempotency_key="reminder-1-email",
        kind=kind,
        assignment_id=42,
        days_since_contact=12,
        recipient_user_id=UUID(int=1),
        organization_name="Oslo Peer Network",
        language=language,
        recipient_first_name="Kari",
        recipient_email="kari@example.org",
        mentor_first_name="Ola",
        mentor_last_name="Nordmann",
        contact_first_name="Per",
        contact_last_name="Hansen",
    )


def test_backoff_doubles_within_its_jitter_band_and_is_capped() -> None:
    policy = RetryPolicy(max_attempts=10, base_seconds=10, cap_seconds=100)
    rng = random.Random(1)
    for attempts, ceiling in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (9, 100)]:
        for _ in range(50):
            delay = policy.delay(attempts, rng).total_seconds()
            assert ceiling / 2 <= delay <= ceiling


def test_jitter_comes_from_the_random_source_passed_in() -> None:
    policy = RetryPolicy()
    assert policy.delay(3, random.Random(5)) == policy.delay(3, random.Random(5))
    assert policy.delay(3, random.Random(5)) != policy.delay(3, random.Random(6))


def test_after_the_last_attempt_there_is_no_next_one() -> None:
    policy = RetryPolicy(max_attempts=3)
    rng = random.Random(1)
    assert policy.next_attempt(2, NOW, rng) is not None
    assert policy.next_attempt(3, NOW, rng) is None


def test_signature_is_standard_webhooks_hmac_of_id_timestamp_and_body() -> None:
    from standardwebhooks import Webhook

    secret = new_secret()
    key = webhook_key(secret)
    assert len(key) == 32
    expected = hmac.new(key, b"reminder-1-webhook.1700000000.{}", hashlib.sha256).digest()
    signature = sign(key, "reminder-1-webhook", 1700000000, b"{}")
    assert signature == "v1," + base64.b64encode(expected).decode()
    moment = datetime.fromtimestamp(1700000000, UTC)
    assert Webhook(secret).sign("reminder-1-webhook", moment, "{}") == signature


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("s3cret-s3cret-s3cret-s3cret", "must be a Standard Webhooks secret"),
        ("whsec_not base64!", "is not base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "24 to 64 bytes"),
    ],
)
def test_a_webhook_secret_that_is_not_whsec_is_refused_without_echoing_it(
    secret: str, message: str
) -> None:
    env = {"REMINDERS_WEBHOOK_URL": "https://x", "REMINDERS_WEBHOOK_SECRET": secret}
    with pytest.raises(ConfigurationError, match=message) as caught:
        Settings.from_env(env)
    assert secret not in str(caught.value)


def test_reminder_text_names_mentor_contact_days_and_link() -> None:
    message = Renderer("https://app.example.org/").render(delivery(), now=NOW)
    assert message.subject == "Time to get in touch with Per"
    assert message.text.startswith("Hi Kari,")
    assert "12 days since your last contact with Per Hansen" in message.text
    assert "https://app.example.org/assignments/42/contacts/new" in message.text


def test_norwegian_organizations_get_norwegian_text() -> None:
    message = Renderer("https://a").render(delivery("escalation", "nb"), now=NOW)
    assert message.subject == "Ola Nordmann trenger oppfølging"
    assert "på 12 dager" in message.text


def test_a_language_without_templates_falls_back_to_english() -> None:
    message = Renderer("https://a").render(delivery(language="sv"), now=NOW)
    assert message.text.startswith("Hi Kari,")


def test_delivery_settings_come_from_the_environment_with_secrets_hidden() -> None:
    settings = Settings.from_env(
        {
            "REMINDERS_SMTP_HOST": "smtp.example.org",
            "REMINDERS_SMTP_TLS": "ssl",
            "REMINDERS_SMTP_PASSWORD": "pw-123",
            "REMINDERS_WEBHOOK_URL": "https://hooks.example.org/x?token=abc",
            "REMINDERS_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        }
    )
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.tls) == (
        "smtp.example.org",
        465,
        "ssl",
    )
    text = repr(settings)
    for secret in ("pw-123", "token=abc", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"):
        assert secret not in text


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"REMINDERS_SMTP_TLS": "maybe"}, "REMINDERS_SMTP_TLS must be one of"),
        ({"REMINDERS_WEBHOOK_URL": "https://x"}, "REMINDERS_WEBHOOK_SECRET is not"),
        (
            {"REMINDERS_WEBHOOK_URL": "ftp://x", "REMINDERS_WEBHOOK_SECRET": "s"},
            "must be an http:// or https:// URL",
        ),
        ({"REMINDERS_DELIVERY_MAX_ATTEMPTS": "0"}, "must be between 1 and 100"),
    ],
)
def test_bad_delivery_settings_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env(env)


class Ticks:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def THOUSAND() -> int:
    return 1000


def test_progress_draws_a_bar_on_a_terminal_after_the_quiet_period() -> None:
    stream, ticks = io.StringIO(), Ticks()
    progress = Progress(stream=stream, tty=True, monotonic=ticks)
    progress(RunCounts(due_rows_read=100), THOUSAND)
    assert stream.getvalue() == ""
    ticks.t = 2.0
    progress(RunCounts(due_rows_read=500, reminders_created=7), THOUSAND)
    progress.close()
    out = stream.getvalue()
    assert out.startswith("\r[" + "#" * 15 + "." * 15 + "]  50% 500/1,000 due")
    assert "7 reminders created" in out
    assert out.endswith("\n")


def test_progress_logs_a_line_per_interval_when_not_a_terminal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="assignment_reminders.cli.progress")
    stream, ticks = io.StringIO(), Ticks()
    progress = Progress(stream=stream, tty=False, interval=10, monotonic=ticks)
    for second in range(1, 26):
        ticks.t = float(second)
        progress(RunCounts(due_rows_read=second * 10), THOUSAND)
    progress.close()
    assert stream.getvalue() == ""
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert " 10% 100/1,000 due" in messages[0]
    assert " 20% 200/1,000 due" in messages[1]


def test_the_first_retry_waits_half_to_all_of_the_base() -> None:
    first = RetryPolicy(base_seconds=30).next_attempt(1, NOW, random.Random(0))
    assert first is not None
    assert timedelta(seconds=15) <= first - NOW <= timedelta(seconds=30)


def test_a_workers_total_counts_every_field_of_each_drain() -> None:
    total = DrainResult()
    total.merge(DrainResult(claimed=5, sent=3, retried=1, dead=1, cancelled=2, released=1, lost=1))
    total.merge(DrainResult(claimed=1, sent=1))
    assert total == DrainResult(
        claimed=6, sent=4, retried=1, dead=1, cancelled=2, released=1, lost=1
    )
