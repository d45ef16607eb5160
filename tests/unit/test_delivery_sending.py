"""The sender's pieces without I/O: the adaptive limit and the email bytes."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assignment_reminders.config import SmtpSettings
from assignment_reminders.delivery.limit import PROBE_AFTER, AdaptiveLimit
from assignment_reminders.delivery.mail import EmailChannel
from assignment_reminders.delivery.messages import Renderer
from assignment_reminders.delivery.mime import build_email
from assignment_reminders.exceptions import DeliveryError
from tests.unit.test_delivery_units import delivery

DATE = format_datetime(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))


def test_the_limit_grows_while_throughput_rises_and_stops_where_it_does_not() -> None:
    limit = AdaptiveLimit(maximum=64, current=2)
    assert limit.update(200, 1.0) == 4  # first measurement: try more
    assert limit.update(200, 0.5) == 8  # 400/s > 200/s: it paid, again
    assert limit.update(200, 0.25) == 16  # 800/s
    assert limit.update(200, 0.24) == 8  # 833/s is not 10 % more: back to 8 ...
    for _ in range(PROBE_AFTER):
        assert limit.update(200, 0.25) == 8  # ... and hold
    assert limit.update(200, 0.25) == 16  # then probe upwards again


def test_the_limit_halves_on_temporary_failures_and_never_leaves_its_bounds() -> None:
    limit = AdaptiveLimit(maximum=8, current=8)
    assert limit.update(150, 1.0, failures=50) == 4
    assert limit.update(150, 1.0, failures=50) == 2
    assert limit.update(150, 1.0, failures=50) == 1
    assert limit.update(150, 1.0, failures=50) == 1
    capped = AdaptiveLimit(maximum=3, current=10)
    assert capped.current == 3
    for _ in range(3 * PROBE_AFTER):
        assert 1 <= capped.update(100, 0.01) <= 3


def test_a_batch_smaller_than_the_limit_changes_nothing() -> None:
    limit = AdaptiveLimit(maximum=16, current=8)
    assert limit.update(3, 0.001) == 8


def parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def reference(**fields: str) -> EmailMessage:
    """What ``EmailMessage`` makes of the same fields (the slow, general path)."""
    mail = EmailMessage()
    mail["From"] = fields["sender"]
    mail["To"] = fields["to"]
    mail["Subject"] = fields["subject"]
    mail["Date"] = fields["date"]
    mail["Message-ID"] = fields["message_id"]
    mail.set_content(fields["text"])
    return parsed(mail.as_bytes(policy=email.policy.SMTP))


def same_message(raw: bytes, **fields: str) -> None:
    got, want = parsed(raw), reference(**fields)
    for header in ("From", "To", "Subject", "Date", "Message-ID", "Content-Type"):
        assert str(got[header]) == str(want[header]), header

    def text(m: EmailMessage) -> str:  # 8bit keeps the wire's CRLF; base64 and QP decode to LF
        return str(m.get_content()).replace("\r\n", "\n")

    assert text(got) == text(want)
    assert b"\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF line ends only


@given(
    subject=st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=120),
    text=st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300),
)
def test_the_written_email_is_what_email_message_makes(subject: str, text: str) -> None:
    fields = {
        "sender": "reminders@example.org",
        "to": "kari@example.org",
        "subject": " ".join(subject.split()),
        "date": DATE,
        "message_id": "<reminder-1-email@example.org>",
        "text": text.strip() + "\n",
    }
    same_message(build_email(**fields), **fields)


def test_a_norwegian_reminder_is_readable_and_long_lines_still_go() -> None:
    message = Renderer("https://app.example.org").render(
        delivery(language="nb"), now=datetime(2026, 11, 28, tzinfo=UTC)
    )
    channel = EmailChannel(
        SmtpSettings(host="127.0.0.1", tls="none", sender="reminders@example.org")
    )
    got = parsed(channel.build(message))
    assert str(got["Subject"]) == message.subject
    assert got.get_content().replace("\r\n", "\n") == message.text
    assert str(got["Message-ID"]) == "<reminder-1-email@example.org>"
    long_line = "x" * 2000 + "\n"  # longer than SMTP allows on a line: EmailMessage encodes it
    raw = build_email(
        sender="a@example.org",
        to="b@example.org",
        subject="s",
        date=DATE,
        message_id="<m@x>",
        text=long_line,
    )
    assert parsed(raw).get_content().replace("\r\n", "\n") == long_line
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


@pytest.mark.parametrize(
    "address", ["kari@example.org\r\nBcc: all@example.org", "kari\n@example.org"]
)
def test_an_address_with_a_line_break_is_dead_not_a_header_injection(address: str) -> None:
    message = Renderer("https://a").render(delivery(), now=datetime(2026, 11, 28, tzinfo=UTC))
    bad = message.__class__(
        delivery=delivery().__class__(**{**delivery().__dict__, "recipient_email": address}),
        subject=message.subject,
        text=message.text,
        link=message.link,
        now=message.now,
    )
    channel = EmailChannel(SmtpSettings(host="127.0.0.1", tls="none"))
    with pytest.raises(DeliveryError) as caught:
        channel.build(bad)
    assert caught.value.permanent
