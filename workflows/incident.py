"""IncidentWorkflow: one durable workflow per incident.

Every deadline (escalation steps, the response window, re-pages after a breach, update
reminders) is a Temporal timer, so a restart of any process never loses or delays one. The
workflow does no I/O: it decides, and activities record and notify. Notifications and record
writes run as background activities so that a slow or failing Slack or database never holds
back a timer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from playbooks.schema import AlertsCleared, LevelPlaybook, PageTarget, PlaybookSet
    from tocsin import messages
    from tocsin.domain import (
        Actor,
        EventKind,
        Function,
        Incident,
        Level,
        NotificationKind,
        PagedPerson,
        Role,
        Source,
        Status,
        Tier,
        TimelineEvent,
    )
    from tocsin.durations import format_duration
    from workflows.models import (
        AckInput,
        AlertBatch,
        AlertIn,
        AlertOutcome,
        AlertResult,
        AlertState,
        ChangeLevelInput,
        IncidentInput,
        IncidentState,
        MitigateInput,
        NotifyInput,
        NotifyResult,
        NotifyTarget,
        PostUpdateInput,
        RecordInput,
        ResolveInput,
        alert_incident_id,
    )

CONFLICT = "Conflict"
INVALID = "InvalidAction"
ALERTMANAGER = Actor(name="Alertmanager")
# Alerts described in full on a timeline event; the rest of a storm is counted.
_DETAILED_ALERTS = 20

# Side effects retry until they succeed: a page must eventually go out, and a record must
# eventually be written, however long Slack or the database is down.
_FOREVER = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
)
_ACTIVITY_TIMEOUT = timedelta(seconds=30)


def _conflict(message: str) -> ApplicationError:
    return ApplicationError(message, type=CONFLICT, non_retryable=True)


@workflow.defn
class IncidentWorkflow:
    @workflow.init
    def __init__(self, input: IncidentInput) -> None:
        self._playbooks: PlaybookSet = input.playbooks
        if input.resume is not None:
            self._s = input.resume
        else:
            declared_at = input.declared_at or workflow.info().workflow_start_time
            window = input.playbooks.for_level(input.level).response_window
            incident_id = input.incident_id
            if input.alert_group_id is not None:
                incident_id = alert_incident_id(
                    input.alert_group_id, workflow.info().workflow_start_time
                )
            self._s = IncidentState(
                incident=Incident(
                    id=incident_id,
                    title=input.title,
                    description=input.description,
                    level=input.level,
                    type=input.type,
                    service=input.service,
                    drill=input.drill,
                    source=input.source,
                    declared_at=declared_at,
                    declared_by=input.declared_by.name,
                    ack_deadline=declared_at + window,
                    response_window_seconds=window.total_seconds(),
                    grading=input.grading,
                    alert_group=input.alert_group,
                ),
                level_since=declared_at,
            )
        self._resumed = input.resume is not None
        self._declared_by = input.declared_by
        self._opened_by_request = input.opened_by_request
        self._unrecorded: list[TimelineEvent] = []
        self._background: list[asyncio.Task[Any]] = []
        self._sending = 0
        self._wake = False
        self._dirty = False

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
            due = self._next_due()
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
            self._fire_due(max(workflow.now(), due))

    @property
    def _inc(self) -> Incident:
        return self._s.incident

    @property
    def _playbook(self) -> LevelPlaybook:
        return self._playbooks.for_level(self._inc.level)

    def _next_due(self) -> datetime | None:
        s, inc = self._s, self._inc
        candidates: list[datetime] = []
        if inc.status is Status.MITIGATED and inc.acknowledged_at is None:
            return None  # its alerts cleared before anyone acknowledged: nobody to chase
        if inc.acknowledged_at is None:
            step_at = self._next_step_at()
            if step_at is not None:
                candidates.append(step_at)
            if not inc.window_breached:
                candidates.append(inc.ack_deadline)
            elif s.next_repage_at is not None:
                candidates.append(s.next_repage_at)
        elif s.next_reminder_at is not None:
            candidates.append(s.next_reminder_at)
        return min(candidates) if candidates else None

    def _next_step_at(self) -> datetime | None:
        """When the next escalation step of the current level fires; steps that would fire at
        or after the deadline are skipped, because the breach pages instead."""
        steps = self._playbook.escalation
        if self._s.next_step >= len(steps) or self._inc.window_breached:
            return None
        at = self._s.level_since + steps[self._s.next_step].after
        return at if at < self._inc.ack_deadline else None

    def _fire_due(self, now: datetime) -> None:
        s, inc = self._s, self._inc
        if inc.acknowledged_at is None:
            if not inc.window_breached and inc.ack_deadline <= now:
                # Back after an outage past the deadline: the breach pages the tiers that
                # the remaining steps would have paged, so they are not paged twice.
                skipped = 0
                while self._next_step_at() is not None:
                    skipped += 1
                    s.next_step += 1
                self._breach(now, skipped_steps=skipped)
                return
            while (step_at := self._next_step_at()) is not None and step_at <= now:
                self._escalate(s.next_step)
                s.next_step += 1
            if inc.window_breached and s.next_repage_at is not None and s.next_repage_at <= now:
                self._repage(now)
        elif s.next_reminder_at is not None and s.next_reminder_at <= now:
            self._remind(now)

    # ------------------------------------------------------------------------- transitions

    def _ensure_declared(self) -> None:
        """Declare once, from whichever runs first: the run method or, under update-with-start,
        the update handler (Temporal delivers the update in the workflow's first activation)."""
        if self._resumed or self._s.seq > 0:
            return
        self._declare(self._declared_by)

    def _declare(self, by: Actor) -> None:
        inc = self._inc
        event = self._event(
            EventKind.DECLARED,
            messages.declared(inc, self._playbook.response_window),
            actor=by.name,
            data={"level": inc.level, "type": inc.type, "window": self._playbook.response_window},
        )
        matrix = self._playbooks.matrix
        for role, kind, event_kind in (
            (Role.LEAD, NotificationKind.PAGE, EventKind.PAGED),
            (Role.SUPPORT, NotificationKind.ENGAGE, EventKind.ENGAGED),
            (Role.INFORMED, NotificationKind.NOTICE, EventKind.INFORMED),
        ):
            functions = matrix.functions(inc.type, role)
            if not functions:
                continue
            targets = [NotifyTarget(function=f, tier=Tier.PRIMARY, role=role) for f in functions]
            role_event = self._event(
                event_kind,
                messages.engaged(role, functions),
                data={"functions": functions, "tier": "primary"},
            )
            self._notify(kind, role_event, targets)
        self._notify(NotificationKind.STATUS, event)

    def _escalate(self, index: int) -> None:
        steps = self._playbook.escalation
        targets = self._resolve_targets(steps[index].page)
        self._inc.escalation_count += 1
        event = self._event(
            EventKind.ESCALATED,
            messages.escalated(index + 1, len(steps), steps[index].page),
            data={"step": index + 1, "after": steps[index].after},
        )
        self._notify(NotificationKind.ESCALATION, event, targets)

    def _breach(self, now: datetime, skipped_steps: int = 0) -> None:
        inc, policy = self._inc, self._playbook.on_breach
        inc.window_breached = True
        inc.breached_at = now
        inc.escalation_count += 1
        self._s.next_repage_at = now + policy.repeat_every
        event = self._event(
            EventKind.BREACHED,
            messages.breached(inc, policy.page, now),
            data={
                "deadline": inc.ack_deadline,
                "late_by_ms": _ms(now - inc.ack_deadline),
                "skipped_steps": skipped_steps,
            },
        )
        self._notify(NotificationKind.BREACH, event, self._resolve_targets(policy.page))

    def _repage(self, now: datetime) -> None:
        policy = self._playbook.on_breach
        self._inc.escalation_count += 1
        self._s.next_repage_at = now + policy.repeat_every
        event = self._event(
            EventKind.REPAGED,
            messages.repaged(self._inc, policy.page, now),
            data={"repeat_every": policy.repeat_every},
        )
        self._notify(NotificationKind.BREACH, event, self._resolve_targets(policy.page))

    def _remind(self, now: datetime) -> None:
        every = self._playbook.update_every
        self._s.next_reminder_at = now + every
        since = self._inc.last_update_at or self._inc.acknowledged_at or self._inc.declared_at
        event = self._event(
            EventKind.UPDATE_REMINDER,
            messages.update_due(now - since),
            data={"update_every": every},
        )
        self._notify(NotificationKind.REMINDER, event, self._owner_targets())

    def _acknowledge(self, by: Actor, now: datetime, implied_by: str | None = None) -> None:
        inc = self._inc
        inc.acknowledged_at = now
        inc.acknowledged_by = by.name
        if inc.status is Status.TRIGGERED:
            inc.status = Status.ACKNOWLEDGED
        self._s.next_repage_at = None
        self._s.next_reminder_at = now + self._playbook.update_every
        text = messages.acknowledged(inc, by, implied_by)
        event = self._event(
            EventKind.ACKNOWLEDGED,
            text,
            actor=by.name,
            data={
                "time_to_ack_ms": _ms(now - inc.declared_at),
                "within_window": now <= inc.ack_deadline,
                "slack_user_id": by.slack_user_id,
            },
        )
        self._notify(NotificationKind.STATUS, event)

    # ----------------------------------------------------------------------------- updates

    @workflow.update
    def current(self) -> Incident:
        """The state right now; used with update-with-start so a declaration returns it."""
        return self._inc

    @workflow.update
    def acknowledge(self, input: AckInput) -> Incident:
        self._acknowledge(input.by, workflow.now())
        return self._changed()

    @acknowledge.validator
    def _validate_acknowledge(self, input: AckInput) -> None:
        self._reject_if_resolved("acknowledge", input.incident_id)
        inc = self._inc
        if inc.acknowledged_at is not None:
            raise _conflict(
                f"already acknowledged by {inc.acknowledged_by} at "
                f"{inc.acknowledged_at:%Y-%m-%d %H:%M:%S} UTC"
            )

    @workflow.update
    def change_level(self, input: ChangeLevelInput) -> Incident:
        self._set_level(input.level, input.reason, input.by, workflow.now())
        return self._changed()

    def _set_level(self, level: Level, reason: str, by: Actor, now: datetime) -> None:
        inc, s = self._inc, self._s
        old_level, old_deadline = inc.level, inc.ack_deadline
        new = self._playbooks.for_level(level)
        raised = level.is_more_serious_than(old_level)
        inc.level = level
        inc.response_window_seconds = new.response_window.total_seconds()
        s.level_since = now
        s.next_step = 0
        if inc.acknowledged_at is None and not inc.window_breached:
            if raised:
                inc.ack_deadline = min(old_deadline, now + new.response_window)
            else:
                inc.ack_deadline = max(old_deadline, inc.declared_at + new.response_window)
        if inc.acknowledged_at is None and inc.window_breached and s.next_repage_at is not None:
            s.next_repage_at = min(s.next_repage_at, now + new.on_breach.repeat_every)
        if inc.acknowledged_at is not None and inc.status.is_open:
            since = inc.last_update_at or inc.acknowledged_at
            s.next_reminder_at = max(now, since + new.update_every)
        event = self._event(
            EventKind.LEVEL_CHANGED,
            messages.level_changed(old_level, level, reason, inc, old_deadline),
            actor=by.name,
            data={
                "from": old_level,
                "to": level,
                "reason": reason,
                "deadline_before": old_deadline,
                "deadline_after": inc.ack_deadline,
            },
        )
        self._notify(NotificationKind.STATUS, event)

    @change_level.validator
    def _validate_change_level(self, input: ChangeLevelInput) -> None:
        self._reject_if_resolved("change the level of", input.incident_id)
        if input.level is self._inc.level:
            raise ApplicationError(
                f"incident is already level {input.level}", type=INVALID, non_retryable=True
            )

    @workflow.update
    def post_update(self, input: PostUpdateInput) -> Incident:
        now = workflow.now()
        inc = self._inc
        inc.last_update_at = now
        if inc.acknowledged_at is not None:
            self._s.next_reminder_at = now + self._playbook.update_every
        event = self._event(EventKind.UPDATE_POSTED, input.text, actor=input.by.name)
        self._notify(NotificationKind.STATUS, event)
        return self._changed()

    @post_update.validator
    def _validate_post_update(self, input: PostUpdateInput) -> None:
        self._reject_if_resolved("post an update to", input.incident_id)

    @workflow.update
    def mitigate(self, input: MitigateInput) -> Incident:
        now = workflow.now()
        if self._inc.acknowledged_at is None:
            self._acknowledge(input.by, now, implied_by="mitigating")
        self._inc.status = Status.MITIGATED
        self._inc.mitigated_at = now
        event = self._event(
            EventKind.MITIGATED, messages.mitigated(input.note), actor=input.by.name
        )
        self._notify(NotificationKind.STATUS, event)
        return self._changed()

    @mitigate.validator
    def _validate_mitigate(self, input: MitigateInput) -> None:
        self._reject_if_resolved("mitigate", input.incident_id)
        if self._inc.status is Status.MITIGATED:
            raise _conflict(f"already mitigated at {self._inc.mitigated_at:%Y-%m-%d %H:%M:%S} UTC")

    @workflow.update
    def resolve(self, input: ResolveInput) -> Incident:
        now = workflow.now()
        inc = self._inc
        if inc.acknowledged_at is None:
            self._acknowledge(input.by, now, implied_by="resolving")
        inc.status = Status.RESOLVED
        inc.resolved_at = now
        inc.resolved_by = input.by.name
        inc.resolution_summary = input.summary or None
        self._close(now)
        event = self._event(
            EventKind.RESOLVED,
            messages.resolved(inc, input.summary),
            actor=input.by.name,
            data={"duration_ms": _ms(now - inc.declared_at)},
        )
        self._notify(NotificationKind.STATUS, event)
        return self._changed()

    @resolve.validator
    def _validate_resolve(self, input: ResolveInput) -> None:
        self._reject_if_resolved("resolve", input.incident_id)

    @workflow.query
    def state(self) -> Incident:
        return self._inc

    # ------------------------------------------------------------------------------ alerts

    @workflow.update
    def alerts(self, batch: AlertBatch) -> AlertResult:
        """A delivery (or part of one) from Alertmanager for this incident's alert group.

        Deliveries repeat: Alertmanager resends a group on every interval and HA pairs send
        everything twice. An alert is new only if its fingerprint, start and status have not
        been seen, so a repeated delivery changes nothing and adds no timeline event."""
        self._ensure_declared()
        now = workflow.now()
        s, inc = self._s, self._inc
        # The request that started the workflow opened the incident, even when a concurrent
        # delivery's update happened to be applied first.
        opened = batch.request_id == self._opened_by_request and not s.opening_reported
        s.opening_reported = s.opening_reported or opened
        firing: list[AlertIn] = []
        resolved: list[AlertIn] = []
        for alert in batch.alerts:
            if self._seen(alert):
                continue
            s.alerts[alert.fingerprint] = alert.seen_as
            (firing if alert.status is AlertState.FIRING else resolved).append(alert)
        duplicates = len(batch.alerts) - len(firing) - len(resolved)
        firing_now = sum(1 for seen in s.alerts.values() if seen.startswith("firing@"))
        inc.alerts_firing, inc.alerts_total = firing_now, len(s.alerts)

        outcome = AlertOutcome.JOINED
        if opened:
            outcome = AlertOutcome.OPENED
        elif not firing and not resolved:
            outcome = AlertOutcome.DUPLICATE
        if firing:
            self._alert_event(EventKind.ALERTS_FIRING, firing, batch, firing_now)
            if inc.status is Status.RESOLVED:
                self._reopen(firing, now)
                outcome = AlertOutcome.REOPENED
            elif inc.status is Status.MITIGATED and s.mitigated_by_alerts:
                self._refire(firing)
            if not opened:
                self._raise_for(firing, batch, now)
        if resolved:
            self._alert_event(EventKind.ALERTS_RESOLVED, resolved, batch, firing_now)
            if firing_now == 0 and inc.status in (Status.TRIGGERED, Status.ACKNOWLEDGED):
                self._alerts_cleared(now)
        if outcome is not AlertOutcome.DUPLICATE:
            inc.version += 1
            self._dirty = True
        return AlertResult(
            incident=self._changed(),
            outcome=outcome,
            new_firing=len(firing),
            new_resolved=len(resolved),
            duplicates=duplicates,
        )

    @alerts.validator
    def _validate_alerts(self, batch: AlertBatch) -> None:
        if self._inc.alert_group != batch.alert_group:
            raise ApplicationError(
                f"incident {self._inc.id} belongs to another alert group",
                type=INVALID,
                non_retryable=True,
            )

    def _seen(self, alert: AlertIn) -> bool:
        seen = self._s.alerts.get(alert.fingerprint)
        if seen is None:
            return False
        # Once an occurrence has resolved, a late copy of its firing delivery (HA peers do
        # not deliver in order) must not bring it back; a new occurrence has a new start.
        return seen in (alert.seen_as, f"resolved@{alert.seen_as.split('@', 1)[1]}")

    def _alert_event(
        self, kind: EventKind, alerts: list[AlertIn], batch: AlertBatch, firing_now: int
    ) -> None:
        names = [a.name for a in alerts]
        text = (
            messages.alerts_firing(names, firing_now)
            if kind is EventKind.ALERTS_FIRING
            else messages.alerts_resolved(names, firing_now)
        )
        detailed = [a.model_dump(mode="json", exclude_none=True) for a in alerts[:_DETAILED_ALERTS]]
        self._event(
            kind,
            text,
            actor=ALERTMANAGER.name,
            data={
                "count": len(alerts),
                "firing_now": firing_now,
                "alerts": detailed,
                "not_detailed": max(0, len(alerts) - _DETAILED_ALERTS),
                "truncated_by_alertmanager": batch.truncated_alerts,
                "external_url": batch.external_url,
            },
        )

    def _raise_for(self, firing: list[AlertIn], batch: AlertBatch, now: datetime) -> None:
        """A more serious new alert raises the level; a less serious one never lowers it."""
        top = max(
            (a for a in firing if a.level is not None),
            key=lambda a: (a.level.rank if a.level else 0, a.score or 0.0),
            default=None,
        )
        if top is None or top.level is None or not top.level.is_more_serious_than(self._inc.level):
            return
        if batch.grading is not None and batch.grading.level is top.level:
            self._inc.grading = batch.grading
        reason = messages.alert_raised_level(top.name, top.level, top.score)
        self._set_level(top.level, reason, ALERTMANAGER, now)

    def _alerts_cleared(self, now: datetime) -> None:
        inc = self._inc
        then = self._playbook.alerts_cleared
        self._event(
            EventKind.ALERTS_CLEARED,
            messages.alerts_cleared(inc.alerts_total, then.value),
            actor=ALERTMANAGER.name,
            data={"alerts": inc.alerts_total, "then": then.value},
        )
        if then is AlertsCleared.RESOLVED:
            inc.status = Status.RESOLVED
            inc.resolved_at = now
            inc.resolved_by = ALERTMANAGER.name
            inc.resolution_summary = "every alert resolved"
            self._close(now)
            event = self._event(
                EventKind.RESOLVED,
                messages.resolved(inc, "every alert resolved"),
                actor=ALERTMANAGER.name,
                data={"duration_ms": _ms(now - inc.declared_at)},
            )
        else:
            inc.status = Status.MITIGATED
            inc.mitigated_at = now
            self._s.mitigated_by_alerts = True
            event = self._event(
                EventKind.MITIGATED,
                messages.mitigated("every alert resolved; confirm and resolve"),
                actor=ALERTMANAGER.name,
            )
        self._notify(NotificationKind.STATUS, event)

    def _refire(self, firing: list[AlertIn]) -> None:
        """Alerts fire again while the incident waits, mitigated by its alerts, for a human."""
        inc = self._inc
        inc.status = Status.ACKNOWLEDGED if inc.acknowledged_at else Status.TRIGGERED
        inc.mitigated_at = None
        self._s.mitigated_by_alerts = False
        event = self._event(
            EventKind.REOPENED,
            messages.reopened([a.name for a in firing], "mitigated"),
            actor=ALERTMANAGER.name,
        )
        self._notify(NotificationKind.STATUS, event)

    def _reopen(self, firing: list[AlertIn], now: datetime) -> None:
        inc, s = self._inc, self._s
        inc.status = Status.ACKNOWLEDGED if inc.acknowledged_at else Status.TRIGGERED
        inc.resolved_at = inc.resolved_by = inc.resolution_summary = None
        inc.mitigated_at = None
        s.mitigated_by_alerts = False
        s.reopen_until = None
        if inc.acknowledged_at is None:
            # Nobody ever acknowledged it: a fresh window, the escalation from the start.
            s.level_since = now
            s.next_step = 0
            if not inc.window_breached:
                inc.ack_deadline = max(inc.ack_deadline, now + self._playbook.response_window)
        else:
            s.next_reminder_at = now + self._playbook.update_every
        event = self._event(
            EventKind.REOPENED,
            messages.reopened([a.name for a in firing], "resolved"),
            actor=ALERTMANAGER.name,
            data={"deadline": inc.ack_deadline},
        )
        leads = self._playbooks.matrix.functions(inc.type, Role.LEAD)
        targets = [NotifyTarget(function=f, tier=Tier.PRIMARY, role=Role.LEAD) for f in leads]
        self._notify(NotificationKind.PAGE, event, targets)

    def _close(self, now: datetime) -> None:
        self._s.next_reminder_at = None
        self._s.next_repage_at = None
        if self._inc.source is Source.ALERTMANAGER:
            self._s.reopen_until = now + self._playbook.reopen_within

    def _reject_if_resolved(self, action: str, incident_id: str | None = None) -> None:
        if incident_id is not None and incident_id != self._inc.id:
            # The alert group of that incident has a newer one; the old one is over.
            raise _conflict(f"cannot {action} incident {incident_id}: it is resolved")
        if self._inc.status is Status.RESOLVED:
            raise _conflict(
                f"cannot {action} incident {self._inc.id}: it was resolved at "
                f"{self._inc.resolved_at:%Y-%m-%d %H:%M:%S} UTC"
            )

    def _changed(self) -> Incident:
        self._wake = True
        self._flush()
        return self._inc

    # ------------------------------------------------------------------ side effects

    def _event(
        self,
        kind: EventKind,
        text: str,
        *,
        actor: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> TimelineEvent:
        self._s.seq += 1
        self._inc.version += 1
        event = TimelineEvent(
            incident_id=self._inc.id,
            seq=self._s.seq,
            at=workflow.now(),
            kind=kind,
            actor=actor,
            text=text,
            data=_plain(data or {}),
        )
        self._unrecorded.append(event)
        return event

    def _flush(self) -> None:
        """Write the snapshot and the new events in one background activity."""
        if not self._unrecorded and not self._dirty:
            return
        self._dirty = False
        record = RecordInput(incident=self._inc.model_copy(deep=True), events=self._unrecorded)
        self._unrecorded = []
        self._spawn(
            workflow.execute_activity(
                "record",
                record,
                start_to_close_timeout=_ACTIVITY_TIMEOUT,
                retry_policy=_FOREVER,
            )
        )

    def _notify(
        self,
        kind: NotificationKind,
        event: TimelineEvent,
        targets: list[NotifyTarget] | None = None,
    ) -> None:
        notify = NotifyInput(
            key=f"{self._inc.id}/{event.seq}/{kind.value}",
            kind=kind,
            incident=self._inc.model_copy(deep=True),
            event=event,
            targets=targets or [],
        )
        self._sending += 1
        self._spawn(self._send(notify))

    async def _send(self, notify: NotifyInput) -> None:
        try:
            result = await workflow.execute_activity(
                "notify",
                notify,
                result_type=NotifyResult,
                start_to_close_timeout=_ACTIVITY_TIMEOUT,
                retry_policy=_FOREVER,
            )
            self._note_reached(notify, result)
        finally:
            self._sending -= 1
            if self._sending == 0 and self._dirty:
                # Record who was reached once the burst of notifications has reported back.
                self._wake = True

    def _note_reached(self, notify: NotifyInput, result: NotifyResult) -> None:
        for recipient in result.recipients:
            entry = PagedPerson(
                name=recipient.person.name,
                function=recipient.function,
                tier=recipient.tier,
                role=recipient.role,
                kind=notify.kind,
                at=notify.event.at,
            )
            # One line per person and tier, so re-pages over a long outage don't grow the state.
            same = [
                i
                for i, p in enumerate(self._inc.paged)
                if (p.name, p.function, p.tier) == (entry.name, entry.function, entry.tier)
            ]
            if same:
                entry.times = self._inc.paged[same[0]].times + 1
                self._inc.paged[same[0]] = entry
            else:
                self._inc.paged.append(entry)
        if result.recipients:
            self._inc.version += 1
            self._dirty = True

    def _spawn(self, awaitable: Awaitable[Any]) -> None:
        self._background = [task for task in self._background if not task.done()]
        self._background.append(asyncio.ensure_future(awaitable))

    async def _drain(self) -> None:
        """Let handlers and background side effects finish before the workflow closes."""
        await workflow.wait_condition(workflow.all_handlers_finished)
        while self._background:
            pending, self._background = self._background, []
            await asyncio.gather(*pending)
            self._flush()

    def _resolve_targets(self, page: list[PageTarget]) -> list[NotifyTarget]:
        """Expand "a tier of the lead function(s)" into concrete function/tier pairs."""
        leads = self._playbooks.matrix.functions(self._inc.type, Role.LEAD)
        targets: list[NotifyTarget] = []
        for target in page:
            functions: list[Function] = [target.function] if target.function else leads
            for function in functions:
                # A function outside the type's row (leadership, usually) is paged to help.
                role = self._playbooks.matrix.types[self._inc.type].get(function, Role.SUPPORT)
                candidate = NotifyTarget(function=function, tier=target.tier, role=role)
                if candidate not in targets:
                    targets.append(candidate)
        return targets

    def _owner_targets(self) -> list[NotifyTarget]:
        """Reminders go to the lead functions' primary tier, who own status updates."""
        leads = self._playbooks.matrix.functions(self._inc.type, Role.LEAD)
        return [NotifyTarget(function=f, tier=Tier.PRIMARY, role=Role.LEAD) for f in leads]


def _ms(delta: timedelta) -> int:
    return round(delta.total_seconds() * 1000)


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """Timeline data as JSON-ready values: durations in the playbook spelling, times ISO."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, timedelta):
            out[key] = format_duration(value)
        elif isinstance(value, datetime):
            out[key] = value.isoformat()
        elif isinstance(value, list):
            out[key] = [v if isinstance(v, dict) else str(v) for v in value]
        elif hasattr(value, "value"):
            out[key] = value.value
        else:
            out[key] = value
    return out
