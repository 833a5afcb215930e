"""The incident workflow's side effects. Each is idempotent: a retried or replayed activity
finds what it already did (by event sequence or notification key) and does not do it again."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from temporalio import activity

from playbooks.loader import PlaybookError, load_roster
from playbooks.schema import Roster
from tocsin import messages
from tocsin.domain import Incident, Recipient, Tier, TimelineEvent
from tocsin.notify.base import Notification, Notifier
from workflows.models import NotifyInput, NotifyResult, NotifyTarget, RecordInput

log = logging.getLogger(__name__)


class Records(Protocol):
    """The part of the records store the activities need."""

    async def apply(self, incident: Incident, events: list[TimelineEvent]) -> None: ...

    async def notification_sent(self, key: str) -> bool: ...

    async def record_notification(
        self,
        key: str,
        *,
        incident_id: str,
        kind: str,
        recipient: str,
        external_id: str | None = None,
    ) -> None: ...


class RosterSource:
    """The roster as it is now on disk. Re-read when the file changes so an on-call swap
    reaches incidents already running; a broken edit keeps the last good roster."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._roster = load_roster(directory)
        self._mtime = self._stat()

    def _stat(self) -> float:
        try:
            return (self._directory / "roster.yaml").stat().st_mtime
        except OSError:
            return self._mtime

    def current(self) -> Roster:
        mtime = self._stat()
        if mtime != self._mtime:
            self._mtime = mtime
            try:
                self._roster = load_roster(self._directory)
                log.info("roster reloaded from %s", self._directory)
            except PlaybookError as exc:
                log.error("roster edit rejected, keeping the previous roster: %s", exc)
        return self._roster


class IncidentActivities:
    def __init__(self, records: Records, notifier: Notifier, roster: RosterSource) -> None:
        self._records = records
        self._notifier = notifier
        self._roster = roster

    @activity.defn(name="record")
    async def record(self, input: RecordInput) -> None:
        await self._records.apply(input.incident, input.events)

    @activity.defn(name="notify")
    async def notify(self, input: NotifyInput) -> NotifyResult:
        if not input.targets:
            await self._deliver(input, input.key, None)
            return NotifyResult()
        recipients = self._recipients(input.targets)
        for recipient in recipients:
            key = (
                f"{input.key}/{recipient.function.value}/{recipient.tier.value}/"
                f"{recipient.person.name}"
            )
            await self._deliver(input, key, recipient)
        return NotifyResult(recipients=recipients)

    def _recipients(self, targets: list[NotifyTarget]) -> list[Recipient]:
        roster = self._roster.current()
        recipients: list[Recipient] = []
        for target in targets:
            people = roster.people(target.function, target.tier)
            tier = target.tier
            if not people:
                # A tier nobody holds must not swallow the page: the function's primary
                # (which the roster schema guarantees) gets it instead.
                people, tier = roster.people(target.function, Tier.PRIMARY), Tier.PRIMARY
            for person in people:
                recipient = Recipient(
                    person=person, function=target.function, tier=tier, role=target.role
                )
                if recipient not in recipients:
                    recipients.append(recipient)
        return recipients

    async def _deliver(self, input: NotifyInput, key: str, recipient: Recipient | None) -> None:
        if await self._records.notification_sent(key):
            return
        notification = Notification(
            key=key,
            kind=input.kind,
            incident=input.incident,
            event=input.event,
            recipient=recipient,
            text=messages.notification_text(input.kind, input.incident, input.event, recipient),
        )
        external_id = await self._notifier.send(notification)
        await self._records.record_notification(
            key,
            incident_id=input.incident.id,
            kind=input.kind.value,
            recipient=recipient.person.name if recipient else "#incident",
            external_id=external_id,
        )
