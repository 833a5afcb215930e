"""Send once by key: the one place that checks what was sent, sends, tells a permanent
failure from a retryable one, and records the outcome.

Every activity that notifies a person or a channel goes through it. A retried or replayed
activity finds the key recorded and sends nothing; a channel that refuses a message for good
(a revoked token, a user that does not exist) is recorded as ``failed:<reason>`` and not
retried, so the other notifications of the same step still go out; any other error is raised
and Temporal retries the activity.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from domain.models import Recipient
from domain.notify import Notification, Notifier, PermanentFailure, recorded_kind

if TYPE_CHECKING:
    from adapters.records import RecordsStore

log = logging.getLogger(__name__)

_Send = Callable[[], Awaitable[str | None]]

# Where a notification to the incident's channel (no recipient) is recorded as sent.
CHANNEL = "#incident"


@runtime_checkable
class MarksBeforeSending(Protocol):
    """A notifier that commits the records itself right before each message leaves, with its
    own mark of the message (Slack's pending mark, ADR 0008): the outbox need not commit
    them again first."""

    marks_before_sending: bool


@dataclass(frozen=True)
class Sent:
    """One send's outcome: the channel's own id (a Slack ts), or why it never will be."""

    external_id: str | None = None
    failure: str | None = None


class Outbox:
    def __init__(self, records: RecordsStore, notifier: Notifier) -> None:
        self._records = records
        self._notifier = notifier

    async def sent(self, key: str, *, incident_id: str | None = None) -> bool:
        """``incident_id``: the incident ``key`` is recorded with, so that in an effects batch
        the incident's records read once answer (``RecordsStore.notification_sent``)."""
        return await self._records.notification_sent(key, incident_id=incident_id)

    async def _sent(self, message: Notification) -> bool:
        return await self.sent(message.key, incident_id=message.incident.id)

    async def send_once(self, message: Notification) -> Sent | None:
        """None when ``message.key`` was sent before."""
        if await self._sent(message):
            return None
        sent = await self._send(lambda: self._notifier.send(message), message)
        await self._record(message, sent)
        return sent

    async def send_pages_once(
        self, recipient: Recipient, pages: Sequence[Notification], bundle_key: str
    ) -> Sent | None:
        """Several pages for one person as one message (one page alone is sent as itself);
        each page is recorded by its own key, so a page handed over twice reaches the person
        once. None when every page was sent before."""
        due = [p for p in pages if not await self._sent(p)]
        if not due:
            return None
        if len(due) == 1:
            sent = await self._send(lambda: self._notifier.send(due[0]), due[0])
        else:
            sent = await self._send(
                lambda: self._notifier.send_bundle(recipient, due, bundle_key), due[0]
            )
        for page in due:
            await self._record(page, sent)
        return sent

    async def _send(self, send: _Send, message: Notification) -> Sent:
        # In an effects batch, the records of what went before are committed before the
        # message leaves: a retried batch finds every earlier send recorded.
        if not isinstance(self._notifier, MarksBeforeSending):
            await self._records.flush()
        try:
            return Sent(external_id=await send())
        except PermanentFailure as exc:
            log.error(
                "%s for %s refused for good: %s", message.kind.value, _who(message), exc.reason
            )
            return Sent(failure=exc.reason)

    async def _record(self, message: Notification, sent: Sent) -> None:
        await self._records.record_notification(
            message.key,
            incident_id=message.incident.id,
            kind=recorded_kind(message.kind, sent.failure),
            recipient=_who(message),
            external_id=sent.external_id,
        )


def _who(message: Notification) -> str:
    return message.recipient.person.name if message.recipient else CHANNEL
