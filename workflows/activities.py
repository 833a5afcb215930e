"""The incident workflow's side effects. Each is idempotent: a retried or replayed activity
finds what it already did (by event sequence or notification key) and does not do it again.

``apply_effects`` is the one activity per workflow activation (ADR 0010): it writes the
snapshot and the new timeline events first, so the records never wait for Slack, then sends
each notification. Broadcasts and notices go out directly; direct messages are handed to the
person's pager, which bundles them. ``record`` and ``notify`` serve incidents whose history
began before ADR 0010 and keep running as they started.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import activity
from temporalio.client import Client

from domain import wording
from domain.models import Incident, NotificationKind, Person, Recipient, Tier, TimelineEvent
from domain.notify import FAILED, Notification, Notifier, PermanentFailure
from domain.playbook import Roster
from domain.rules.effects import NotifyTarget
from playbooks.roster import RosterSource
from workflows.models import (
    EffectsInput,
    EffectsResult,
    Failure,
    NotifyInput,
    NotifyResult,
    PageIn,
    PagerInput,
    Reached,
    RecordInput,
    pager_workflow_id,
)
from workflows.pager import PagerWorkflow

if TYPE_CHECKING:
    # Only the type: the workflow module imports this one, and needs no database driver.
    from adapters.records import RecordsStore

# Direct messages to a person; the rest goes to channels (the card, notices).
DIRECT = frozenset(
    {
        NotificationKind.PAGE,
        NotificationKind.ENGAGE,
        NotificationKind.ESCALATION,
        NotificationKind.BREACH,
        NotificationKind.REMINDER,
    }
)


def recipients(roster: Roster, targets: list[NotifyTarget]) -> list[Recipient]:
    """The people behind each target, as the roster is now (ADR 0003)."""
    found: list[Recipient] = []
    for target in targets:
        if target.person is not None:
            people = [_person(roster, target.person.name, target.person.slack_user_id)]
            tier = target.tier
        else:
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
            if recipient not in found:
                found.append(recipient)
    return found


def _person(roster: Roster, name: str, slack_user_id: str | None) -> Person:
    """Someone named on the incident (who acknowledged it): the roster's entry if they are in
    it, by Slack ID or name, else just the name and Slack ID they acted with."""
    for tiers in roster.functions.values():
        for people in tiers.values():
            for person in people:
                if (slack_user_id and person.slack_user_id == slack_user_id) or (
                    person.name == name
                ):
                    return person
    return Person(name=name, slack_user_id=slack_user_id)


def _recipient_key(key: str, recipient: Recipient) -> str:
    return f"{key}/{recipient.function.value}/{recipient.tier.value}/{recipient.person.name}"


def _message(
    key: str, kind: NotificationKind, incident: Incident, event: TimelineEvent, to: Recipient | None
) -> Notification:
    return Notification(
        key=key,
        kind=kind,
        incident=incident,
        event=event,
        recipient=to,
        text=wording.notification_text(kind, incident, event, to),
    )


class IncidentActivities:
    def __init__(
        self,
        records: RecordsStore,
        notifier: Notifier,
        roster: RosterSource,
        client: Client,
        task_queue: str,
    ) -> None:
        self._records = records
        self._notifier = notifier
        self._roster = roster
        self._client = client
        self._task_queue = task_queue

    # ------------------------------------------------------------------- one per activation

    @activity.defn(name="apply_effects")
    async def apply_effects(self, input: EffectsInput) -> EffectsResult:
        incident = input.incident
        await self._records.apply(incident, input.events)
        roster = self._roster.current()
        result = EffectsResult()
        for notify in input.notifications:
            key = f"{incident.id}/{notify.event.seq}/{notify.kind.value}"
            if not notify.targets:
                await self._direct(_message(key, notify.kind, incident, notify.event, None), result)
                continue
            reached = recipients(roster, notify.targets)
            for recipient in reached:
                message = _message(
                    _recipient_key(key, recipient), notify.kind, incident, notify.event, recipient
                )
                if notify.kind in DIRECT:
                    await self._hand_to_pager(message, recipient, roster)
                else:
                    await self._direct(message, result)
            if reached:
                result.reached.append(
                    Reached(kind=notify.kind, at=notify.event.at, recipients=reached)
                )
        if result.reached:
            await self._records.note_reached(
                incident, [(r.kind, r.at, r.recipients) for r in result.reached]
            )
        return result

    async def _direct(self, message: Notification, result: EffectsResult) -> None:
        """A broadcast or a notice, sent from here; a permanent failure is kept, not raised,
        so the other notifications of the activation still go out."""
        if await self._records.notification_sent(message.key):
            return
        try:
            external_id = await self._notifier.send(message)
            kind = message.kind.value
        except PermanentFailure as exc:
            external_id, kind = None, f"{FAILED}:{exc.reason}"
            result.failures.append(
                Failure(
                    key=message.key,
                    kind=message.kind,
                    recipient=message.recipient.person.name if message.recipient else "#incident",
                    reason=exc.reason,
                )
            )
        await self._records.record_notification(
            message.key,
            incident_id=message.incident.id,
            kind=kind,
            recipient=message.recipient.person.name if message.recipient else "#incident",
            external_id=external_id,
        )

    async def _hand_to_pager(
        self, message: Notification, recipient: Recipient, roster: Roster
    ) -> None:
        if await self._records.notification_sent(message.key):
            return
        await self._client.start_workflow(
            PagerWorkflow.run,
            PagerInput(recipient=recipient),
            id=pager_workflow_id(self._task_queue, recipient),
            task_queue=self._task_queue,
            start_signal="page",
            start_signal_args=[
                PageIn(page=message, window_seconds=roster.paging.bundle_window.total_seconds())
            ],
        )

    # ---------------------------------------------------------- incidents begun before 0010

    @activity.defn(name="record")
    async def record(self, input: RecordInput) -> None:
        await self._records.apply(input.incident, input.events)

    @activity.defn(name="notify")
    async def notify(self, input: NotifyInput) -> NotifyResult:
        if not input.targets:
            await self._deliver(input, input.key, None)
            return NotifyResult()
        reached = recipients(self._roster.current(), input.targets)
        for recipient in reached:
            await self._deliver(input, _recipient_key(input.key, recipient), recipient)
        return NotifyResult(recipients=reached)

    async def _deliver(self, input: NotifyInput, key: str, recipient: Recipient | None) -> None:
        if await self._records.notification_sent(key):
            return
        message = _message(key, input.kind, input.incident, input.event, recipient)
        external_id = await self._notifier.send(message)
        await self._records.record_notification(
            key,
            incident_id=input.incident.id,
            kind=input.kind.value,
            recipient=recipient.person.name if recipient else "#incident",
            external_id=external_id,
        )
