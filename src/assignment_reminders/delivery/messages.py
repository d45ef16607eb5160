"""What is sent: a claimed delivery, rendered from a Jinja2 template in the organization's language.

Templates live in ``assignment_reminders/templates`` as ``<kind>.<language>.txt``; the first
statement sets ``subject``, the output is the plain-text body. A language without templates falls
back to English.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    import jinja2

DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class Delivery:
    """One claimed row of ``reminder_deliveries`` with what its templates need."""

    id: int
    channel: str
    attempts: int
    idempotency_key: str
    kind: str
    assignment_id: int
    days_since_contact: int
    recipient_user_id: UUID
    organization_name: str
    language: str
    recipient_first_name: str
    recipient_email: str | None
    mentor_first_name: str
    mentor_last_name: str
    contact_first_name: str
    contact_last_name: str


@dataclass(frozen=True)
class Message:
    """A rendered delivery, ready for any channel."""

    delivery: Delivery
    subject: str
    text: str
    link: str
    now: datetime

    def payload(self) -> dict[str, Any]:
        """The JSON body of a webhook."""
        d = self.delivery
        return {
            "id": d.idempotency_key,
            "kind": d.kind,
            "assignment_id": d.assignment_id,
            "recipient_user_id": str(d.recipient_user_id),
            "days_since_contact": d.days_since_contact,
            "language": d.language,
            "subject": self.subject,
            "text": self.text,
            "link": self.link,
        }


class Renderer:
    """Renders deliveries with the package's templates (or *loader*'s, in tests)."""

    def __init__(self, app_url: str, loader: jinja2.BaseLoader | None = None) -> None:
        import jinja2  # imported when something is rendered: keeps `reminders run` start-up short

        self.app_url = app_url.rstrip("/")
        self.env = jinja2.Environment(
            loader=loader or jinja2.PackageLoader("assignment_reminders", "templates"),
            autoescape=False,  # noqa: S701 - plain-text email and JSON bodies, never HTML
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=False,
            auto_reload=False,  # templates ship with the package: no stat() per message
        )

    @cached_property
    def languages(self) -> frozenset[str]:
        return frozenset(name.split(".")[1] for name in self.env.list_templates(extensions="txt"))

    def language_for(self, language: str | None) -> str:
        lang = (language or DEFAULT_LANGUAGE).lower()
        return lang if lang in self.languages else DEFAULT_LANGUAGE

    def link(self, delivery: Delivery) -> str:
        return f"{self.app_url}/assignments/{delivery.assignment_id}/contacts/new"

    def render(self, delivery: Delivery, *, now: datetime) -> Message:
        template = self.env.get_template(
            f"{delivery.kind}.{self.language_for(delivery.language)}.txt"
        )
        link = self.link(delivery)
        module = template.make_module(
            {
                "recipient_first_name": delivery.recipient_first_name,
                "mentor_first_name": delivery.mentor_first_name,
                "mentor_last_name": delivery.mentor_last_name,
                "contact_first_name": delivery.contact_first_name,
                "contact_last_name": delivery.contact_last_name,
                "days": delivery.days_since_contact,
                "organization_name": delivery.organization_name,
                "link": link,
            }
        )
        return Message(
            delivery=delivery,
            subject=str(getattr(module, "subject", "")).strip(),
            text=str(module).strip() + "\n",
            link=link,
            now=now,
        )
