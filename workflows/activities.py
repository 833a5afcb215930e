"""The incident workflow's side effects. Each is idempotent: a retried or replayed activity
finds what it already did (by event sequence or notification key) and does not do it again."""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import activity

from domain import wording
from domain.models import Recipient, Tier
from domain.notify import Notification, Notifier
from domain.rules.effects import NotifyTarget
from playbooks.roster import RosterSource
from workflows.models import NotifyInput, NotifyResult, RecordInput

if TYPE_CHECKING:
    # Only the type: the workflow module imports this one, and needs no database driver.
    from adapters.records import RecordsStore


class IncidentActivities:
    def __init__(self, records: RecordsStore, notifier: Notifier, roster: RosterSource) -> None:
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
            text=wording.notification_text(input.kind, input.incident, input.event, recipient),
        )
        external_id = await self._notifier.send(notification)
        await self._records.record_notification(
            key,
            incident_id=input.incident.id,
            kind=input.kind.value,
            recipient=recipient.person.name if recipient else "#incident",
            external_id=external_id,
        )
