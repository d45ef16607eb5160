"""The email channel: plain-text email over a bounded set of persistent SMTP connections
(aiosmtplib), at most ``concurrency`` open, each reused message after message."""

from __future__ import annotations

from email.utils import format_datetime
from typing import TYPE_CHECKING

from ..config import SmtpSettings
from ..exceptions import DeliveryError
from .messages import Message
from .mime import build_email
from .names import EMAIL
from .sending import AsyncChannel
from .smtp import open_async_smtp

if TYPE_CHECKING:
    import aiosmtplib


class EmailChannel(AsyncChannel):
    name = EMAIL

    def __init__(self, smtp: SmtpSettings, *, timeout: float = 10.0, concurrency: int = 16) -> None:
        super().__init__(concurrency, send_timeout=timeout)  # the whole message, not per command
        self.smtp = smtp  # REMINDERS_SMTP_*: host, port, TLS mode, login, sender
        self.sender = smtp.sender
        self.timeout = timeout
        self._idle: list[aiosmtplib.SMTP] = []  # open connections no message is using

    def message_id(self, message: Message) -> str:
        domain = self.sender.rpartition("@")[2] or "localhost"
        return f"<{message.delivery.idempotency_key}@{domain}>"

    def build(self, message: Message) -> bytes:
        to = message.delivery.recipient_email
        if not to:
            raise DeliveryError("email: the recipient has no email address", permanent=True)
        try:
            return build_email(
                sender=self.sender,
                to=to,
                subject=message.subject,
                date=format_datetime(message.now),
                message_id=self.message_id(message),
                text=message.text,
            )
        except ValueError:  # a line break in an address: never sent, whatever the retries
            raise DeliveryError(
                "email: the address is not valid in a header", permanent=True
            ) from None

    async def deliver(self, message: Message) -> None:
        import aiosmtplib

        mail = self.build(message)
        to = message.delivery.recipient_email
        assert to is not None  # build refused it otherwise
        reused = bool(self._idle)
        smtp = self._idle.pop() if reused else None
        try:
            try:
                smtp = smtp or await open_async_smtp(self.smtp, timeout=self.timeout)
                await smtp.sendmail(self.sender, [to], mail)
            except aiosmtplib.SMTPServerDisconnected:
                if not reused:
                    raise
                self._discard(smtp)  # a kept connection the server closed: once more, anew
                smtp = await open_async_smtp(self.smtp, timeout=self.timeout)
                await smtp.sendmail(self.sender, [to], mail)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            if smtp is not None:
                self._idle.append(smtp)  # the envelope was reset: the connection is fine
            codes = [r.code for r in exc.recipients]
            raise DeliveryError(
                f"email: recipient refused ({codes})", permanent=all(c >= 500 for c in codes)
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            self._discard(smtp)
            raise DeliveryError(f"email: SMTP {exc.code}", permanent=exc.code >= 500) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            self._discard(smtp)
            raise DeliveryError(f"email: {type(exc).__name__}") from None
        except BaseException:
            self._discard(smtp)
            raise
        if smtp is not None:
            self._idle.append(smtp)

    @staticmethod
    def _discard(smtp: aiosmtplib.SMTP | None) -> None:
        if smtp is not None:
            smtp.close()

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for smtp in idle:
            try:
                await smtp.quit()
            except Exception:
                smtp.close()
