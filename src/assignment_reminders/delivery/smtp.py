"""Opening an SMTP connection from the one set of ``REMINDERS_SMTP_*`` settings.

Reminder email (delivery, asyncio: :func:`open_async_smtp`) and alert email (monitoring,
:func:`open_smtp`) share these settings:
``REMINDERS_SMTP_TLS`` is ``starttls`` (default, port 587), ``ssl`` (implicit TLS, port 465) or
``none`` (a local relay).
"""

from __future__ import annotations

import smtplib
import ssl
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import aiosmtplib

    from ..config import SmtpSettings


def open_smtp(settings: SmtpSettings, *, timeout: float = 10.0) -> smtplib.SMTP:
    """A connected, logged-in SMTP client; the caller quits or closes it."""
    if not settings.host:
        raise ValueError("REMINDERS_SMTP_HOST is not set")
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.tls == "ssl":
        smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
    try:
        if settings.tls == "starttls":
            smtp.starttls(context=context)
        if settings.user and settings.password is not None:
            smtp.login(settings.user, settings.password.reveal())
    except BaseException:
        smtp.close()
        raise
    return smtp


async def open_async_smtp(settings: SmtpSettings, *, timeout: float = 10.0) -> aiosmtplib.SMTP:
    """The same, for asyncio (aiosmtplib): a connected, logged-in client; the caller quits or
    closes it."""
    import aiosmtplib

    if not settings.host:
        raise ValueError("REMINDERS_SMTP_HOST is not set")
    smtp = aiosmtplib.SMTP(
        hostname=settings.host,
        port=settings.port,
        timeout=timeout,
        use_tls=settings.tls == "ssl",
        start_tls=settings.tls == "starttls",
        tls_context=ssl.create_default_context(),
    )
    await smtp.connect()
    try:
        if settings.user and settings.password is not None:
            await smtp.login(settings.user, settings.password.reveal())
    except BaseException:
        smtp.close()
        raise
    return smtp
