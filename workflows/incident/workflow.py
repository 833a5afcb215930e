"""IncidentWorkflow: one durable workflow per incident.

Every deadline (escalation steps, the response window, re-pages after a breach, update
reminders) is a Temporal timer, so a restart of any process never loses or delays one. The
rules live in ``domain.rules`` as pure functions; this class holds the handlers, the timer
loop and the plumbing of side effects. Notifications and record writes run as background
activities so that a slow or failing Slack or database never holds back a timer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.alerts import AlertBatch, AlertOutcome, AlertResult
    from domain.models import Incident, Level, Status, TimelineEvent
    from domain.notify import HANDLING, Failure, notification_key
    from domain.playbook import CustomerPolicy, PlaybookSet
    from domain.rules import alert_group, checks, deadlines, lifecycle, partners
    from domain.rules.effects import Notify, Outcome
    from domain.rules.lifecycle import ALERTMANAGER
    from domain.statements import TOLD_TO_CUSTOMERS
    from workflows import retry
    from workflows.ids import alert_incident_id
    from workflows.incident import patches
    from workflows.incident.activities import IncidentActivities
    from workflows.incident.models import (
        AckInput,
        ChangeLevelInput,
        EffectsInput,
        IncidentInput,
        MitigateInput,
        NotifyInput,
        PagesInput,
        PartnerAckInput,
        PostUpdateInput,
        RecordInput,
        ResolveInput,
    )
    from workflows.protocol import INVALID, NOTIFICATION_FAILED, refused
    from workflows.queues import PAGES, paging_queue

__all__ = ["ALERTMANAGER", "IncidentWorkflow"]

# Side effects retry until they succeed: a page must eventually go out, and a record must
# eventually be written, however long Slack or the database is down.
_ACTIVITY_TIMEOUT = timedelta(seconds=30)
# A burst may post to several Slack channels, each paced at about one message a second.
_EFFECTS_TIMEOUT = timedelta(minutes=2)


@workflow.defn
class IncidentWorkflow:
    @workflow.init
    def __init__(self, input: IncidentInput) -> None:
        self._playbooks: PlaybookSet = input.playbooks
        if input.resume is not None:
            self._s = input.resume
        else:
            started = workflow.info().workflow_start_time
            incident_id = input.incident_id
            if input.alert_group_id is not None:
                incident_id = alert_incident_id(input.alert_group_id, started)
            self._s = lifecycle.open_incident(
                input.declaration(),
                incident_id=incident_id,
                declared_at=input.declared_at or started,
                playbooks=input.playbooks,
            )
        self._resumed = input.resume is not None
        self._declared_by = input.declared_by
        self._opened_by_request = input.opened_by_request
        self._unrecorded: list[TimelineEvent] = []
        self._background: list[asyncio.Task[Any]] = []
        self._sending = 0
        self._wake = False
        self._dirty = False
        self._effects_in_one: bool | None = None
        self._pages_first: bool | None = None
        self._pages_eager: bool | None = None
        self._late_steps: bool | None = None
        self._partners: bool | None = None
        self._queued: list[Notify] = []
        self._effects: asyncio.Task[None] | None = None
        self._in_flight = 0

    # ----------------------------------------------------------------------------- run loop

    @workflow.run
    async def run(self, input: IncidentInput) -> Incident:
        self._ensure_declared()
        while True:
            await self._respond(input)
            if not await self._reopened():
                break
        return self._inc

    async def _reopened(self) -> bool:
        """An alert incident stays open to its group for ``reopen_within`` after it resolved,
        so a flapping alert reopens it instead of opening another incident."""
        until = self._s.reopen_until
        self._flush()
        if until is not None and until > workflow.now():
            try:
                await workflow.wait_condition(
                    lambda: self._inc.status is not Status.RESOLVED,
                    timeout=until - workflow.now(),
                )
                return True
            except TimeoutError:
                pass
        await self._drain()
        # An alert delivery handled while draining may have reopened it after all.
        return self._inc.status is not Status.RESOLVED

    async def _respond(self, input: IncidentInput) -> None:
        while self._inc.status is not Status.RESOLVED:
            self._flush()
            if workflow.info().is_continue_as_new_suggested():
                await self._drain()
                workflow.continue_as_new(
                    input.model_copy(update={"resume": self._s, "playbooks": self._playbooks})
                )
            due = deadlines.next_due(self._s, self._playbooks, partners=self._with_partners())
            self._wake = False
            if due is None:
                await workflow.wait_condition(lambda: self._wake)
                continue
            delay = due - workflow.now()
            if delay > timedelta(0):
                try:
                    await workflow.wait_condition(lambda: self._wake, timeout=delay)
                    continue  # a handler changed the state: recompute what is due next
                except TimeoutError:
                    pass
            # Timers never fire early; comparing against the instant waited for keeps
            # sub-millisecond rounding from postponing a breach by another loop.
            if self._late_steps is None:
                self._late_steps = workflow.patched(patches.LATE_STEPS_FIRED)
            at = max(workflow.now(), due)
            self._apply(
                lifecycle.fire_due(self._s, self._playbooks, at, late_steps=self._late_steps)
            )
            if self._with_partners():
                self._apply(partners.fire_partners(self._s, self._playbooks, at))

    def _with_partners(self) -> bool:
        """Asked first when the run loop looks for what is due, so histories from before
        partners replay without the marker and keep the deadlines they had."""
        if self._partners is None:
            self._partners = workflow.patched(patches.PARTNERS_ENGAGED)
        return self._partners

    @property
    def _inc(self) -> Incident:
        return self._s.incident

    def _ensure_declared(self) -> None:
        """Declare once, from whichever runs first: the run method or, under update-with-start,
        the update handler (Temporal delivers the update in the workflow's first activation)."""
        if self._resumed or self._s.seq > 0:
            return
        self._apply(lifecycle.declare(self._s, self._playbooks, self._declared_by, workflow.now()))

    # ----------------------------------------------------------------------------- updates

    @workflow.update
    def current(self) -> Incident:
        """The state right now; used with update-with-start so a declaration returns it."""
        return self._inc

    @workflow.update
    def acknowledge(self, input: AckInput) -> Incident:
        self._apply(
            lifecycle.acknowledge(
                self._s, self._playbooks, input.by, workflow.now(), acted_at=input.acted_at
            )
        )
        return self._changed()

    @acknowledge.validator
    def _validate_acknowledge(self, input: AckInput) -> None:
        refused(lambda: checks.check_acknowledge(self._s, input.incident_id))

    @workflow.update
    def acknowledge_partner(self, input: PartnerAckInput) -> Incident:
        self._apply(
            partners.acknowledge_partner(
                self._s,
                self._playbooks,
                input.partner,
                input.by,
                workflow.now(),
                acted_at=input.acted_at,
            )
        )
        return self._changed()

    @acknowledge_partner.validator
    def _validate_acknowledge_partner(self, input: PartnerAckInput) -> None:
        refused(lambda: checks.check_acknowledge_partner(self._s, input.partner, input.incident_id))

    @workflow.update
    def change_level(self, input: ChangeLevelInput) -> Incident:
        self._apply(
            lifecycle.change_level(
                self._s, self._playbooks, input.level, input.reason, input.by, workflow.now()
            )
        )
        return self._changed()

    @change_level.validator
    def _validate_change_level(self, input: ChangeLevelInput) -> None:
        refused(lambda: checks.check_change_level(self._s, input.level, input.incident_id))

    @workflow.update
    def post_update(self, input: PostUpdateInput) -> Incident:
        self._apply(
            lifecycle.post_update(self._s, self._playbooks, input.text, input.by, workflow.now())
        )
        return self._changed()

    @post_update.validator
    def _validate_post_update(self, input: PostUpdateInput) -> None:
        refused(lambda: checks.check_open(self._s, "post an update to", input.incident_id))

    @workflow.update
    def mitigate(self, input: MitigateInput) -> Incident:
        self._apply(
            lifecycle.mitigate(self._s, self._playbooks, input.by, input.note, workflow.now())
        )
        return self._changed()

    @mitigate.validator
    def _validate_mitigate(self, input: MitigateInput) -> None:
        refused(lambda: checks.check_mitigate(self._s, input.incident_id))

    @workflow.update
    def resolve(self, input: ResolveInput) -> Incident:
        self._apply(
            lifecycle.resolve(self._s, self._playbooks, input.by, input.summary, workflow.now())
        )
        return self._changed()

    @resolve.validator
    def _validate_resolve(self, input: ResolveInput) -> None:
        refused(lambda: checks.check_open(self._s, "resolve", input.incident_id))

    @workflow.query
    def state(self) -> Incident:
        return self._inc

    @workflow.update
    def alerts(self, batch: AlertBatch) -> AlertResult:
        """A delivery (or part of one) from Alertmanager for this incident's alert group."""
        return self._receive(batch)

    def _receive(self, batch: AlertBatch) -> AlertResult:
        self._ensure_declared()
        # The request that started the workflow opened the incident, even when a concurrent
        # delivery's update happened to be applied first.
        opened = batch.request_id == self._opened_by_request and not self._s.opening_reported
        outcome, result = alert_group.receive_alerts(
            self._s,
            self._playbooks,
            batch,
            workflow.now(),
            opened=opened,
            ask_to_confirm=self._confirm_cleared(),
        )
        self._apply(outcome)
        if result.outcome is not AlertOutcome.DUPLICATE:
            self._dirty = True
        result.incident = self._changed()
        return result

    @workflow.signal
    def alert_delivery(self, batch: AlertBatch) -> None:
        """A delivery stored by signal-with-start (ADR 0011): applied as the update is, with
        no one waiting for the answer. A batch of another group cannot reach here: the
        workflow id names the group."""
        if self._inc.alert_group != batch.alert_group:
            workflow.logger.warning("alert batch of another group ignored: %s", batch.alert_group)
            return
        self._receive(batch)

    @alerts.validator
    def _validate_alerts(self, batch: AlertBatch) -> None:
        if self._inc.alert_group != batch.alert_group:
            raise ApplicationError(
                f"incident {self._inc.id} belongs to another alert group",
                type=INVALID,
                non_retryable=True,
            )

    def _changed(self) -> Incident:
        self._wake = True
        self._flush()
        return self._inc

    # ------------------------------------------------------------------ side effects

    def _confirm_cleared(self) -> bool:
        """Asked only when alerts arrive, where the answer matters; an incident whose alerts
        cleared unacknowledged before this patch keeps waiting silently, as it did."""
        return workflow.patched(patches.CONFIRM_CLEARED)

    @property
    def _batched(self) -> bool:
        """ADR 0010: one activity per activation for its record and all its notifications.
        Incidents whose history began before it keep the activity per notification."""
        if self._effects_in_one is None:
            self._effects_in_one = workflow.patched(patches.EFFECTS_IN_ONE_ACTIVITY)
        return self._effects_in_one

    def _apply(self, outcome: Outcome) -> None:
        """Take a transition's new state and start its side effects, in the order decided."""
        self._s = outcome.state
        self._unrecorded.extend(outcome.events)
        if self._batched:
            self._queued.extend(outcome.notifications)
            if self._effects is None:
                self._effects = asyncio.ensure_future(self._apply_effects_per_activation())
            return
        for notification in outcome.notifications:
            self._notify(notification)

    async def _apply_effects_per_activation(self) -> None:
        """Wait until an activation has decided something, then hand all of it to one
        background activity. Conditions are checked once every handler of the activation has
        run, so concurrent deliveries of one activation share the activity."""
        while True:
            await workflow.wait_condition(self._pending_effects)
            self._start_effects()

    def _start_effects(self) -> None:
        """The activation's effects, handed to their activities. A method of its own so that
        nothing of them (a deep copy of the incident, its events, its notifications) stays
        referenced from the waiting loop above once the activities have them: a cached
        incident kept its last batch for as long as it waited for the next."""
        events, self._unrecorded = self._unrecorded, []
        notifications, self._queued = self._queued, []
        self._dirty = False
        incident = self._inc.model_copy(deep=True)
        pages = [n for n in notifications if n.targets and HANDLING[n.kind].bundled]
        handed = bool(pages) and self._paged_first()
        if handed:
            self._in_flight += 1
            self._spawn(
                self._hand_pages(
                    PagesInput(incident=incident, notifications=pages), self._pages_queue()
                )
            )
        batch = EffectsInput(
            incident=incident,
            events=events,
            notifications=notifications,
            customers=self._customers() if TOLD_TO_CUSTOMERS & {e.kind for e in events} else None,
            pages_handed=handed,
        )
        self._in_flight += 1
        self._spawn(self._run_effects(batch))

    def _paged_first(self) -> bool:
        """Asked only when an activation has pages, where the answer matters: incidents
        whose history began before ADR 0022 keep handing them over from ``apply_effects``."""
        if self._pages_first is None:
            self._pages_first = workflow.patched(patches.PAGES_FIRST)
        return self._pages_first

    def _pages_queue(self) -> str:
        """Where an activation's pages are handed over from. Since ADR 0037 the incident's own
        task queue, whose worker starts them at once (eagerly) as the workflow task that
        decided them ends; incidents that paged before keep the paging queue (ADR 0022)."""
        if self._pages_eager is None:
            self._pages_eager = workflow.patched(patches.PAGES_EAGER)
        own = workflow.info().task_queue
        return own if self._pages_eager else paging_queue(own)

    async def _hand_pages(self, pages: PagesInput, task_queue: str) -> None:
        """Scheduled in the same workflow task as the activation's other effects, and first:
        the worker that ran the task starts it at once, with a slot of its own, and the
        paperwork waits in the queue behind it (ADR 0022, ADR 0037). The lead's page never
        waits for a slot behind channels, cards, drafts or record writes."""
        try:
            result = await workflow.execute_activity_method(
                IncidentActivities.hand_pages,
                pages,
                task_queue=task_queue,
                start_to_close_timeout=_ACTIVITY_TIMEOUT,
                heartbeat_timeout=retry.HEARTBEAT,
                retry_policy=retry.URGENT,
                priority=PAGES,
            )
            for failure in result.failures:
                self._note_failure(failure)
        finally:
            self._in_flight -= 1

    def _customers(self) -> dict[Level, CustomerPolicy]:
        return {level: playbook.customers for level, playbook in self._playbooks.levels.items()}

    def _pending_effects(self) -> bool:
        return bool(self._unrecorded or self._queued or self._dirty)

    async def _run_effects(self, batch: EffectsInput) -> None:
        try:
            result = await workflow.execute_activity_method(
                IncidentActivities.apply_effects,
                batch,
                start_to_close_timeout=_EFFECTS_TIMEOUT,
                heartbeat_timeout=retry.HEARTBEAT,
                retry_policy=retry.URGENT,
            )
            # The activity recorded whom it reached; the state learns it without a write.
            for reached in result.reached:
                self._s = lifecycle.note_reached(
                    self._s, reached.kind, reached.at, reached.recipients
                )
            for failure in result.failures:
                self._note_failure(failure)
        finally:
            self._in_flight -= 1

    def _note_failure(self, failure: Failure) -> None:
        self._apply(
            lifecycle.note_failure(
                self._s,
                self._playbooks,
                (failure.kind, failure.recipient, failure.reason, failure.key),
                workflow.now(),
            )
        )
        self._wake = True

    @workflow.signal(name=NOTIFICATION_FAILED)
    def notification_failed(self, failure: Failure) -> None:
        """A pager could not deliver a direct message about this incident, for good."""
        self._note_failure(failure)

    def _flush(self) -> None:
        """Write the snapshot and the new events in one background activity (incidents begun
        before ADR 0010; later ones hand everything to ``_apply_effects_per_activation``)."""
        if self._batched or (not self._unrecorded and not self._dirty):
            return
        self._dirty = False
        record = RecordInput(incident=self._inc.model_copy(deep=True), events=self._unrecorded)
        self._unrecorded = []
        self._spawn(
            workflow.execute_activity_method(
                IncidentActivities.record,
                record,
                start_to_close_timeout=_ACTIVITY_TIMEOUT,
                retry_policy=retry.URGENT,
            )
        )

    def _notify(self, notification: Notify) -> None:
        event = notification.event
        notify = NotifyInput(
            key=notification_key(self._inc.id, event.seq, notification.kind.value),
            kind=notification.kind,
            incident=self._inc.model_copy(deep=True),
            event=event,
            targets=notification.targets,
        )
        self._sending += 1
        self._spawn(self._send(notify))

    async def _send(self, notify: NotifyInput) -> None:
        try:
            result = await workflow.execute_activity_method(
                IncidentActivities.notify,
                notify,
                start_to_close_timeout=_ACTIVITY_TIMEOUT,
                retry_policy=retry.URGENT,
            )
            if result.recipients:
                self._s = lifecycle.note_reached(
                    self._s, notify.kind, notify.event.at, result.recipients
                )
                self._dirty = True
        finally:
            self._sending -= 1
            if self._sending == 0 and self._dirty:
                # Record who was reached once the burst of notifications has reported back.
                self._wake = True

    def _spawn(self, awaitable: Awaitable[Any]) -> None:
        self._background = [task for task in self._background if not task.done()]
        self._background.append(asyncio.ensure_future(awaitable))

    async def _drain(self) -> None:
        """Let handlers and background side effects finish before the workflow closes."""
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._batched:
            await workflow.wait_condition(
                lambda: not self._pending_effects() and self._in_flight == 0
            )
            return
        while self._background:
            pending, self._background = self._background, []
            await asyncio.gather(*pending)
            self._flush()
