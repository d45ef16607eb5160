"""A reminder email's bytes: plain text, UTF-8, the headers the idempotency key needs.

``EmailMessage`` is slow (its header registry parses every address header: several times the rest
of a message's CPU, docs/benchmarks.md#figures-behind-design-choices); a reminder's email is
always the same shape, so it is written directly. Input that is not that shape (an address that
is not plain ASCII, a body line longer than SMTP allows) goes through ``EmailMessage`` as before;
a unit test checks that both give the same message.
"""

from __future__ import annotations

import base64
import email.policy
from email.message import EmailMessage

_CRLF = "\r\n"
_MAX_LINE = 998  # RFC 5321: a line of DATA, without its CRLF
_MAX_PLAIN_SUBJECT = 900  # longer: folded as encoded words (a header line is at most 998)
_WORD_BYTES = 45  # of UTF-8 per encoded word: 60 in base64, 72 with =?utf-8?b?...?= (RFC: 75)
_FIXED = (
    'MIME-Version: 1.0\r\nContent-Type: text/plain; charset="utf-8"\r\n'
    "Content-Transfer-Encoding: 8bit\r\n"
)


def _plain(value: str) -> bool:
    return value.isascii() and value.isprintable()


def _subject(subject: str) -> str:
    """``Subject:`` as is when it is plain ASCII, else RFC 2047 encoded words (UTF-8, base64),
    one per folded line (``email``'s own header folding was a third of the sender's CPU)."""
    subject = " ".join(subject.split())  # no line breaks in a header
    if _plain(subject) and len(subject) <= _MAX_PLAIN_SUBJECT and "=?" not in subject:
        return f"Subject: {subject}\r\n"
    data, words, start = subject.encode(), [], 0
    while start < len(data):
        end = min(start + _WORD_BYTES, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # never split a character
            end -= 1
        words.append(f"=?utf-8?b?{base64.b64encode(data[start:end]).decode()}?=")
        start = end
    return "Subject: " + "\r\n ".join(words) + "\r\n"


def build_email(
    *, sender: str, to: str, subject: str, date: str, message_id: str, text: str
) -> bytes:
    """The message as SMTP sends it (CRLF line ends). *date* is RFC 5322 formatted."""
    body = text.replace("\r\n", "\n")
    lines = body.removesuffix("\n").split("\n")  # only LF breaks a line (not splitlines' others)
    if (
        "\r" in body
        or not (_plain(to) and _plain(sender))
        or any(len(line.encode()) > _MAX_LINE for line in lines)
    ):
        return _general(
            sender=sender, to=to, subject=subject, date=date, message_id=message_id, text=text
        )
    head = (
        f"From: {sender}\r\nTo: {to}\r\n{_subject(subject)}Date: {date}\r\n"
        f"Message-ID: {message_id}\r\n{_FIXED}\r\n"
    )
    return (head + _CRLF.join(lines) + _CRLF).encode()


def _general(*, sender: str, to: str, subject: str, date: str, message_id: str, text: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = date
    mail["Message-ID"] = message_id
    mail.set_content(text)
    return mail.as_bytes(policy=email.policy.SMTP)
