"""The interface every notifier (console, Slack, e-mail) implements."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel

from domain.models import Incident, NotificationKind, Recipient, TimelineEvent


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
