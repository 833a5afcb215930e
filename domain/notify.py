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


class Notifier(Protocol):
    async def send(self, notification: Notification) -> str | None:
        """Deliver; return the channel's own id for the message (e.g. a Slack ts) if any."""
        ...
