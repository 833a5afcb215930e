"""The incident workflow's side effects. Each is idempotent: a retried or replayed activity
finds what it already did (by event sequence or notification key) and does not do it again.

``apply_effects`` is the one activity per workflow activation (ADR 0010): it writes the
snapshot and the new timeline events first, so the records never wait for Slack, then sends
each notification. Broadcasts and notices go out directly; direct messages are handed to the
person's pager, which bundles them. ``record`` and ``notify`` serve incidents whose history
began before ADR 0010 and keep running as they started.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from temporalio import activity
from temporalio.client import Client

from domain import wording
from domain.models import Channel, EventKind, Incident, NotificationKind, Recipient, TimelineEvent
from domain.notify import (
    HANDLING,
    Failure,
    Notification,
    Notifier,
    notification_key,
    recipient_key,
)
from domain.oncall import ONCALL_SEQ
from domain.playbook import PlaybookSet
from domain.roster import Roster
from domain.rules.oncall import OnCall
from domain.rules.targets import recipients
from playbooks.roster import RosterSource
from workflows.incident.followers import Followers
from workflows.incident.models import (
    EffectsInput,
    EffectsResult,
    NotifyInput,
    NotifyResult,
    PagesInput,
    PagesResult,
    Reached,
    RecordInput,
)
from workflows.outbox import CHANNEL, Outbox
from workflows.rota import on_call

if TYPE_CHECKING:
    # Only the type: the workflow module imports this one, and needs no database driver.
    from adapters.records import RecordsStore


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


def _alone(recipient: Recipient, roster: Roster) -> bool:
    """Nothing for a pager to do: no window to bundle in, and one Slack message at once is
    the person's whole rule (no later e-mail or push step to wait for)."""
    rules = recipient.person.rules()
    return (
        roster.paging.bundle_window <= timedelta(0)
        and len(rules) == 1
        and rules[0].channel is Channel.SLACK
        and rules[0].after <= timedelta(0)
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
        self._outbox = Outbox(records, notifier)
        self._roster = roster
        self._followers = Followers(client, task_queue, records)
        # The review policy and who leads each incident type, as the worker started with.
        self._playbooks = playbooks

    # ------------------------------------------------------------------- one per activation

    @activity.defn(name="apply_effects")
    async def apply_effects(self, input: EffectsInput) -> EffectsResult:
        # One records transaction for the snapshot, the events and the on-call lines, committed
        # before the first send; the records of each send go with the next one's (issue 22).
        async with self._records.batch():
            return await self._apply_effects(input)

    async def _apply_effects(self, input: EffectsInput) -> EffectsResult:
        incident = input.incident
        await self._records.apply(incident, input.events)
        result = EffectsResult()
        rotas: dict[datetime, OnCall] = {}
        for notify in input.notifications:
            key = notification_key(incident.id, notify.event.seq, notify.kind.value)
            if not notify.targets:
                await self._direct(
                    _message(key, notify.kind, incident, notify.event, None), result.failures
                )
                continue
            # Whoever is on call when the step fired (its event's instant), overrides included.
            now = await self._on_call(incident, notify.event.at, rotas)
            roster = now.roster
            reached = recipients(roster, notify.targets)
            await self._say_who_chose(incident, key, notify.event, reached, now)
            for recipient in reached:
                message = _message(
                    recipient_key(key, recipient), notify.kind, incident, notify.event, recipient
                )
                if HANDLING[notify.kind].bundled:
                    if not input.pages_handed:
                        await self._hand_to_pager(message, recipient, roster)
                else:
                    await self._direct(message, result.failures)
            if reached:
                result.reached.append(
                    Reached(kind=notify.kind, at=notify.event.at, recipients=reached)
                )
        # What the other processes are told may lead them to read the records.
        await self._records.flush()
        if {EventKind.ACKNOWLEDGED, EventKind.RESOLVED} & {e.kind for e in input.events}:
            await self._stop_pages(incident)
        if input.customers is not None:
            await self._followers.customers(incident, input.customers)
        declared = [e for e in input.events if e.kind is EventKind.DECLARED]
        if declared and incident.service:
            await self._link_related_reviews(incident, declared[0], result)
        resolution = [e.seq for e in input.events if e.kind is EventKind.RESOLVED]
        if self._playbooks is not None and resolution:
            await self._followers.resolved(incident, max(resolution), self._playbooks)
        if incident.drill_run is not None:
            await self._followers.drill(incident)
        if result.reached:
            await self._records.note_reached(
                incident, [(r.kind, r.at, r.recipients) for r in result.reached]
            )
        return result

    async def _stop_pages(self, incident: Incident) -> None:
        """The people this incident reached: their pagers drop its later steps now. The
        records' list counts as well as the snapshot's: when pages are handed first (ADR
        0022) the page and its effects report back in two workflow tasks, and a worker
        replaying the incident may apply the acknowledgement before the result that says
        whom the page reached (Temporal runs updates first in an activation), so the
        snapshot can lack them; the effects that reached them wrote them to the records
        before their result was in the history."""
        names = [p.name for p in incident.paged]
        stored = await self._records.get_incident(incident.id)
        if stored is not None:
            names += [p.name for p in stored.paged if p.name not in names]
        roster = self._roster.current()
        people = [roster.person(name) for name in names]
        await self._followers.acknowledged(incident, [p for p in people if p is not None])

    @activity.defn(name="hand_pages")
    async def hand_pages(self, input: PagesInput) -> PagesResult:
        """The activation's direct messages, started at once by the worker whose workflow task
        decided them (ADR 0037; on the paging queue before it, ADR 0022): nothing of the
        incident's paperwork comes first. Each goes to its person's pager, which bundles
        them; with no bundle window there is nothing to bundle, and it goes from here, as
        the least a page can cost. The records of whom they reached are ``apply_effects``'s,
        once the incident's snapshot is written."""
        async with self._records.batch():
            return await self._hand_pages(input)

    async def _hand_pages(self, input: PagesInput) -> PagesResult:
        incident = input.incident
        result = PagesResult()
        rotas: dict[datetime, OnCall] = {}
        for notify in input.notifications:
            key = notification_key(incident.id, notify.event.seq, notify.kind.value)
            # The instant ``apply_effects`` records whom the page reached at (a rehearsal's).
            now = await self._on_call(incident, notify.event.at, rotas)
            for recipient in recipients(now.roster, notify.targets):
                message = _message(
                    recipient_key(key, recipient), notify.kind, incident, notify.event, recipient
                )
                if _alone(recipient, now.roster):
                    await self._direct(message, result.failures)
                else:
                    await self._hand_to_pager(message, recipient, now.roster)
        return result

    async def _on_call(
        self, incident: Incident, at: datetime, known: dict[datetime, OnCall]
    ) -> OnCall:
        """Who is on call at the instant a step fired, looked up once per instant in an
        activity: the steps of one activation mostly share their event."""
        instant = self._roster.instant(incident.id, at)
        if instant not in known:
            known[instant] = await on_call(self._records, self._roster, instant)
        return known[instant]

    async def _say_who_chose(
        self,
        incident: Incident,
        key: str,
        event: TimelineEvent,
        reached: list[Recipient],
        now: OnCall,
    ) -> None:
        """A timeline line per person a schedule chose: which schedule, rotation or override,
        and until when their shift runs."""
        for recipient in reached:
            if recipient.partner is not None:
                continue  # a partner's contact is named by the roster, not a schedule
            holding = now.holding(recipient.function, recipient.tier)
            if holding is None or holding.shift is None:
                continue
            shift = holding.shift
            await self._records.note_event_once(
                f"{recipient_key(key, recipient)}/oncall",
                incident_id=incident.id,
                base=ONCALL_SEQ,
                kind=EventKind.ON_CALL,
                text=f"{recipient.person.name} reached for {recipient.function.value} "
                f"{recipient.tier.value}: {holding.why()}",
                at=event.at,
                actor="tocsin",
                data={
                    "person": recipient.person.name,
                    "schedule": holding.schedule,
                    "source": shift.source.value,
                    "rotation": shift.rotation,
                    "override_id": shift.override_id,
                    "shift_start": shift.start.isoformat(),
                    "shift_end": shift.end.isoformat(),
                    "for_event": event.seq,
                },
            )

    async def _direct(self, message: Notification, failures: list[Failure]) -> None:
        """A broadcast or a notice, sent from here; a permanent failure is kept, not raised,
        so the other notifications of the activation still go out."""
        sent = await self._outbox.send_once(message)
        if sent is not None and sent.failure is not None:
            failures.append(
                Failure(
                    key=message.key,
                    kind=message.kind,
                    recipient=message.recipient.person.name if message.recipient else CHANNEL,
                    reason=sent.failure,
                )
            )

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
        key = notification_key(incident.id, declared.seq, "related-reviews")
        await self._direct(
            _message(key, NotificationKind.STATUS, incident, event, None), result.failures
        )

    async def _hand_to_pager(
        self, message: Notification, recipient: Recipient, roster: Roster
    ) -> None:
        if await self._outbox.sent(message.key, incident_id=message.incident.id):
            return
        # The pager writes to the incident's timeline: the snapshot goes first.
        await self._records.flush()
        await self._followers.page(message, recipient, roster.paging.bundle_window)

    # ---------------------------------------------------------- incidents begun before 0010

    @activity.defn(name="record")
    async def record(self, input: RecordInput) -> None:
        await self._records.apply(input.incident, input.events)

    @activity.defn(name="notify")
    async def notify(self, input: NotifyInput) -> NotifyResult:
        if not input.targets:
            await self._deliver(input, input.key, None)
            return NotifyResult()
        at = self._roster.instant(input.incident.id, input.event.at)
        now = await on_call(self._records, self._roster, at)
        reached = recipients(now.roster, input.targets)
        for recipient in reached:
            await self._deliver(input, recipient_key(input.key, recipient), recipient)
        return NotifyResult(recipients=reached)

    async def _deliver(self, input: NotifyInput, key: str, recipient: Recipient | None) -> None:
        await self._outbox.send_once(
            _message(key, input.kind, input.incident, input.event, recipient)
        )
