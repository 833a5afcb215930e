"""Pages by e-mail and by push: the e-mail and Apprise steps of a person's notification
rules (ADR 0024). Both say what the Slack page says, with an acknowledge link while the
incident waits for one.

E-mail goes through the mailer customer messaging uses (the same SMTP settings). Push and
SMS go through Apprise, which speaks ntfy, Pushover, Telegram, Matrix, Teams and a hundred
more: tocsin writes no provider by hand. An Apprise URL carries the service's secrets: it
is held as a ``SecretStr``, and no error, log line or reason here ever contains it.
"""

from __future__ import annotations

import logging

import apprise
from pydantic import SecretStr

from adapters.acklinks import AckLinks
from adapters.email import Mailer
from domain.models import Incident, Recipient, Status
from domain.notify import HANDLING, Notification, PermanentFailure

# Apprise logs what it sends to, URLs included, at its lower levels.
logging.getLogger("apprise").setLevel(logging.CRITICAL)


def _subject(pages: list[Notification]) -> str:
    first = pages[0].incident
    if len(pages) == 1:
        return f"[tocsin] Level {first.level} {first.id}: {first.title}"
    return f"[tocsin] {len(pages)} pages, the first: Level {first.level} {first.id}: {first.title}"


class PageText:
    """The words of a page outside Slack: its text and, while the incident waits for an
    acknowledgement, the person's own acknowledge link."""

    def __init__(self, links: AckLinks | None) -> None:
        self._links = links

    def body(self, pages: list[Notification]) -> str:
        return "\n\n".join(self._one(page) for page in pages) + "\n"

    def subject(self, pages: list[Notification]) -> str:
        return _subject(pages)

    def _one(self, page: Notification) -> str:
        incident = page.incident
        lines = [f"Level {incident.level} {incident.id}: {incident.title}", page.text]
        link = self._link(page, incident)
        if link is not None:
            lines.append(f"Acknowledge: {link}")
        return "\n".join(lines)

    def _link(self, page: Notification, incident: Incident) -> str | None:
        if self._links is None or page.recipient is None:
            return None
        if not HANDLING[page.kind].asks_ack or incident.status is not Status.TRIGGERED:
            return None
        return self._links.link(incident.id, page.recipient.person.name)


class EmailPages:
    """Pages by e-mail, as a notifier the outbox sends once by key."""

    def __init__(self, mailer: Mailer, text: PageText) -> None:
        self._mailer = mailer
        self._text = text

    async def send(self, notification: Notification) -> str | None:
        assert notification.recipient is not None
        return await self.send_bundle(notification.recipient, [notification], notification.key)

    async def send_bundle(
        self, recipient: Recipient, pages: list[Notification], key: str
    ) -> str | None:
        address = recipient.person.email
        if address is None:
            raise PermanentFailure("no_email_address")
        headers = {"X-Tocsin-Incident": pages[0].incident.id, "X-Tocsin-Key": key}
        return await self._mailer.send(
            address, self._text.subject(pages), self._text.body(pages), headers
        )


class Pusher:
    """One Apprise URL: a push or SMS service."""

    async def push(self, url: SecretStr, title: str, body: str) -> None:
        notifier = apprise.Apprise()
        if not notifier.add(url.get_secret_value()):
            raise PermanentFailure("apprise_url_unknown")
        if not await notifier.async_notify(body=body, title=title):
            # Apprise answers only yes or no: the next step is the one to try.
            raise PermanentFailure("apprise_failed")


class PushPages:
    """Pages through one Apprise URL, as a notifier the outbox sends once by key."""

    def __init__(self, pusher: Pusher, url: SecretStr, text: PageText) -> None:
        self._pusher = pusher
        self._url = url
        self._text = text

    async def send(self, notification: Notification) -> str | None:
        assert notification.recipient is not None
        return await self.send_bundle(notification.recipient, [notification], notification.key)

    async def send_bundle(
        self, recipient: Recipient, pages: list[Notification], key: str
    ) -> str | None:
        await self._pusher.push(self._url, self._text.subject(pages), self._text.body(pages))
        return None
