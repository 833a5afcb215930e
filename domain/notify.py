"""The interface every notifier (console, Slack, e-mail) implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, Field

from domain.models import Incident, NotificationKind, Person, Recipient, TimelineEvent


class Notification(BaseModel):
    """One message to one recipient, or to the incident's channel when ``recipient`` is None.

    ``key`` is stable across retries of the activity that sends it: a notifier that can look a
    message up by key (Slack keeps the ts) updates instead of posting again.
    """

    key: str
    kind: NotificationKind
    incident: Incident
    event: TimelineEvent
    recipient: Recipient | None = None
    text: str


# How a notification a channel refused for good is recorded: ``failed:<reason>``.
FAILED = "failed"


def recorded_kind(kind: NotificationKind, failure: str | None) -> str:
    """What the records keep of a send: its kind, or ``failed:<reason>`` for a send the
    channel refused for good (the reports count those as failures, whatever the kind)."""
    return kind.value if failure is None else f"{FAILED}:{failure}"


@dataclass(frozen=True)
class Handling:
    """What a kind of notification does beyond carrying its text."""

    # A direct message to a person, handed to that person's pager, which bundles what
    # arrives together; the others are sent at once (to a channel, or a notice to a person).
    bundled: bool
    # The person is asked into the incident's channel with it: responders and the
    # communications lead, not a key account's manager nor a reminder's owner.
    joins_channel: bool
    # It carries an Acknowledge button while the incident is unacknowledged.
    asks_ack: bool


HANDLING: Mapping[NotificationKind, Handling] = {
    NotificationKind.PAGE: Handling(bundled=True, joins_channel=True, asks_ack=True),
    NotificationKind.ENGAGE: Handling(bundled=True, joins_channel=True, asks_ack=False),
    NotificationKind.NOTICE: Handling(bundled=False, joins_channel=False, asks_ack=False),
    NotificationKind.ESCALATION: Handling(bundled=True, joins_channel=True, asks_ack=True),
    NotificationKind.BREACH: Handling(bundled=True, joins_channel=True, asks_ack=True),
    NotificationKind.REMINDER: Handling(bundled=True, joins_channel=False, asks_ack=False),
    NotificationKind.STATUS: Handling(bundled=False, joins_channel=False, asks_ack=False),
    NotificationKind.APPROVAL: Handling(bundled=False, joins_channel=True, asks_ack=False),
    NotificationKind.STATEMENT: Handling(bundled=False, joins_channel=False, asks_ack=False),
    NotificationKind.REVIEW: Handling(bundled=False, joins_channel=False, asks_ack=False),
}


def notification_key(incident_id: str, seq: int, what: str) -> str:
    """``<incident>/<event seq>/<what>``: stable across retries and replays of the step that
    sends it, so the outbox finds what it already sent. ``what`` is the kind, or a name of its
    own for a notification that is not one per kind (``related-reviews``)."""
    return f"{incident_id}/{seq}/{what}"


def recipient_key(key: str, recipient: Recipient) -> str:
    """One person's copy of a notification sent to several."""
    return f"{key}/{recipient.function.value}/{recipient.tier.value}/{recipient.person.name}"


class PermanentFailure(Exception):
    """The channel refused the message for a reason retrying cannot fix (a revoked token, a
    channel or user that does not exist). ``reason`` is the channel's own code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class Notifier(Protocol):
    async def send(self, notification: Notification) -> str | None:
        """Deliver; return the channel's own id for the message (e.g. a Slack ts) if any.
        Raise ``PermanentFailure`` when retrying cannot help; anything else is retried."""
        ...

    async def send_bundle(
        self, recipient: Recipient, pages: list[Notification], key: str
    ) -> str | None:
        """Several pages for one person as one message (held while a bundle window was open);
        ``key`` names the message as ``Notification.key`` does."""
        ...


class Failure(BaseModel):
    """A notification that will never be delivered: the channel refused it for good."""

    key: str
    kind: NotificationKind
    recipient: str = Field(description="a person's name, or the channel it was for")
    reason: str


@runtime_checkable
class DirectMessenger(Protocol):
    """A message to one person outside any incident (an on-call handoff). ``key`` is stable
    across retries, as ``Notification.key`` is."""

    async def tell(self, person: Person, text: str, key: str) -> None: ...
