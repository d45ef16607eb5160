"""Opening an SMTP connection from the one set of ``REMINDERS_SMTP_*`` settings.

Reminder email (delivery) and alert email (monitoring) share these settings and this function:
``REMINDERS_SMTP_TLS`` is ``starttls`` (default, port 587), ``ssl`` (implicit TLS, port 465) or
``none`` (a local relay).
"""

from __future__ import annotations

import smtplib
import ssl

from .config import Settings


def open_smtp(settings: Settings, *, timeout: float = 10.0) -> smtplib.SMTP:
    """A connected, logged-in SMTP client; the caller quits or closes it."""
    if not settings.smtp_host:
        raise ValueError("REMINDERS_SMTP_HOST is not set")
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.smtp_tls == "ssl":
        smtp = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    try:
        if settings.smtp_tls == "starttls":
            smtp.starttls(context=context)
        if settings.smtp_user and settings.smtp_password is not None:
            smtp.login(settings.smtp_user, settings.smtp_password.reveal())
    except BaseException:
        smtp.close()
        raise
    return smtp
