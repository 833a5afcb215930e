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
from temporalio.service import RPCError, RPCStatusCode

from domain import wording
from domain.models import EventKind, Incident, NotificationKind, Recipient, TimelineEvent
from domain.notify import FAILED, Notification, Notifier, PermanentFailure
from domain.playbook import PlaybookSet, Roster
from domain.rules.targets import lead_targets, recipients
from playbooks.roster import RosterSource
from workflows.drills import DrillWorkflow
from workflows.models import (
    DrillIncidentChanged,
    EffectsInput,
    EffectsResult,
    Failure,
    IncidentChanged,
    IncidentResolved,
    NotifyInput,
    NotifyResult,
    PageIn,
    PagerInput,
    Reached,
    RecordInput,
    ReviewInput,
    StatementsInput,
    pager_workflow_id,
    review_workflow_id,
    statements_workflow_id,
)
from workflows.pager import PagerWorkflow
from workflows.reviews import ReviewWorkflow
from workflows.statements import StatementsWorkflow

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
        playbooks: PlaybookSet | None = None,
    ) -> None:
        self._records = records
        self._notifier = notifier
        self._roster = roster
        self._client = client
        self._task_queue = task_queue
        # The review policy and who leads each incident type, as the worker started with.
        self._playbooks = playbooks

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
        if input.customers is not None:
            await self._tell_statements(input)
        declared = [e for e in input.events if e.kind is EventKind.DECLARED]
        if declared and incident.service:
            await self._link_related_reviews(incident, declared[0], result)
        resolution = [e.seq for e in input.events if e.kind is EventKind.RESOLVED]
        if self._playbooks is not None and resolution:
            await self._open_review(incident, max(resolution), self._playbooks)
        if incident.drill_run is not None:
            await self._tell_drill(incident)
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

    async def _tell_statements(self, input: EffectsInput) -> None:
        """The incident's statements workflow hears of a change that matters to customers;
        it starts when customers are to be told (signal-with-start)."""
        assert input.customers is not None
        incident = input.incident
        change = IncidentChanged(incident=incident, policies=input.customers)
        workflow = statements_workflow_id(incident.id)
        if input.customers[incident.level].applies(incident.type):
            await self._client.start_workflow(
                StatementsWorkflow.run,
                StatementsInput(incident=incident, policies=input.customers),
                id=workflow,
                task_queue=self._task_queue,
                start_signal="incident_changed",
                start_signal_args=[change],
            )
            return
        try:
            await self._client.get_workflow_handle(workflow).signal(
                StatementsWorkflow.incident_changed, change
            )
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise  # retried; NOT_FOUND: nothing is told of this incident

    async def _tell_drill(self, incident: Incident) -> None:
        """The drill that injected the incident follows it: it ends when all are resolved."""
        assert incident.drill_run is not None
        run = await self._records.drills.get(incident.drill_run)
        if run is None or not run.workflow_id:
            return  # no run of that name: a drill incident declared by hand
        try:
            await self._client.get_workflow_handle(run.workflow_id).signal(
                DrillWorkflow.incident_changed, DrillIncidentChanged(incident=incident)
            )
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise  # retried; NOT_FOUND: the drill is over

    async def _link_related_reviews(
        self, incident: Incident, declared: TimelineEvent, result: EffectsResult
    ) -> None:
        """The incident's channel gets the three published reviews of its service most like
        it: what was learnt last time, at hand."""
        assert incident.service is not None
        related = await self._records.reviews.related(incident.service, incident.title)
        if not related:
            return
        lines = "; ".join(f"{r.title} ({r.id}: {r.root_cause[:80]})" for r in related)
        event = declared.model_copy(
            update={
                "text": f"Related reviews of {incident.service}: {lines}",
                "kind": EventKind.DECLARED,
            }
        )
        key = f"{incident.id}/{declared.seq}/related-reviews"
        await self._direct(_message(key, NotificationKind.STATUS, incident, event, None), result)

    async def _open_review(self, incident: Incident, seq: int, playbooks: PlaybookSet) -> None:
        """The incident's review opens (or, resolved again after a reopen, is refreshed)."""
        resolved = IncidentResolved(incident=incident, through_seq=seq)
        await self._client.start_workflow(
            ReviewWorkflow.run,
            ReviewInput(
                incident=incident,
                policy=playbooks.for_level(incident.level).review,
                leads=lead_targets(playbooks, incident.type),
                through_seq=seq,
            ),
            id=review_workflow_id(incident.id),
            task_queue=self._task_queue,
            start_signal="resolved_again",
            start_signal_args=[resolved],
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
