"""Deliveries from Alertmanager to the incident of their alert group (ADR 0007).

Deliveries repeat: Alertmanager resends a group on every interval and HA pairs send
everything twice. An alert is new only if its fingerprint, start and status have not been
seen, so a repeated delivery changes nothing and adds no timeline event. A more serious new
alert raises the level; clearing follows the playbook; firing again soon after resolution
reopens the incident.
"""

from __future__ import annotations

from datetime import datetime

from domain import wording
from domain.alerts import AlertBatch, AlertIn, AlertOutcome, AlertResult, AlertState
from domain.durations import millis
from domain.models import EventKind, NotificationKind, Role, Status
from domain.playbook import AlertsCleared, PlaybookSet
from domain.rules import targets
from domain.rules.effects import Outcome
from domain.rules.lifecycle import ALERTMANAGER, Transition
from domain.rules.state import IncidentState

# Alerts described in full on a timeline event; the rest of a storm is counted.
DETAILED_ALERTS = 20


def seen(state: IncidentState, alert: AlertIn) -> bool:
    """This delivery of the alert changes nothing: the same occurrence in the same status, or
    a late firing copy (HA peers do not deliver in order) of an occurrence already resolved.
    A new occurrence has a new start."""
    last = state.alerts.get(alert.fingerprint)
    if last is None:
        return False
    return last in (alert.seen_as, f"resolved@{alert.seen_as.split('@', 1)[1]}")


def receive_alerts(
    state: IncidentState,
    playbooks: PlaybookSet,
    batch: AlertBatch,
    now: datetime,
    *,
    opened: bool,
    ask_to_confirm: bool = False,
) -> tuple[Outcome, AlertResult]:
    """Apply one batch. ``opened``: this batch came with the request that started the
    incident's workflow, which is told it opened the incident whatever order concurrent
    deliveries were applied in. ``ask_to_confirm`` (incidents begun since the
    ``confirm-cleared`` patch): alerts that clear before anyone acknowledged ask the lead to
    confirm and resolve, and again on the level's cadence."""
    t = Transition(state, playbooks, now)
    s, inc = t.s, t.inc
    s.opening_reported = s.opening_reported or opened
    firing: list[AlertIn] = []
    resolved: list[AlertIn] = []
    for alert in batch.alerts:
        if seen(s, alert):
            continue
        s.alerts[alert.fingerprint] = alert.seen_as
        (firing if alert.status is AlertState.FIRING else resolved).append(alert)
    duplicates = len(batch.alerts) - len(firing) - len(resolved)
    firing_now = sum(1 for last in s.alerts.values() if last.startswith("firing@"))
    inc.alerts_firing, inc.alerts_total = firing_now, len(s.alerts)

    outcome = AlertOutcome.JOINED
    if opened:
        outcome = AlertOutcome.OPENED
    elif not firing and not resolved:
        outcome = AlertOutcome.DUPLICATE
    if firing:
        _alert_event(t, EventKind.ALERTS_FIRING, firing, batch, firing_now)
        if inc.status is Status.RESOLVED:
            _reopen(t, firing)
            outcome = AlertOutcome.REOPENED
        elif inc.status is Status.MITIGATED and s.mitigated_by_alerts:
            _refire(t, firing)
        if not opened:
            _raise_for(t, firing, batch)
    if resolved:
        _alert_event(t, EventKind.ALERTS_RESOLVED, resolved, batch, firing_now)
        if firing_now == 0 and inc.status in (Status.TRIGGERED, Status.ACKNOWLEDGED):
            _alerts_cleared(t, ask_to_confirm)
    if outcome is not AlertOutcome.DUPLICATE:
        inc.version += 1
    result = AlertResult(
        incident=inc,
        outcome=outcome,
        new_firing=len(firing),
        new_resolved=len(resolved),
        duplicates=duplicates,
    )
    return t.outcome(), result


def _alert_event(
    t: Transition, kind: EventKind, alerts: list[AlertIn], batch: AlertBatch, firing_now: int
) -> None:
    names = [a.name for a in alerts]
    text = (
        wording.alerts_firing(names, firing_now)
        if kind is EventKind.ALERTS_FIRING
        else wording.alerts_resolved(names, firing_now)
    )
    detailed = [a.model_dump(mode="json", exclude_none=True) for a in alerts[:DETAILED_ALERTS]]
    t.event(
        kind,
        text,
        actor=ALERTMANAGER.name,
        data={
            "count": len(alerts),
            "firing_now": firing_now,
            "alerts": detailed,
            "not_detailed": max(0, len(alerts) - DETAILED_ALERTS),
            "truncated_by_alertmanager": batch.truncated_alerts,
            "external_url": batch.external_url,
        },
    )


def _raise_for(t: Transition, firing: list[AlertIn], batch: AlertBatch) -> None:
    """A more serious new alert raises the level; a less serious one never lowers it."""
    top = max(
        (a for a in firing if a.level is not None),
        key=lambda a: (a.level.rank if a.level else 0, a.score or 0.0),
        default=None,
    )
    if top is None or top.level is None or not top.level.is_more_serious_than(t.inc.level):
        return
    if batch.grading is not None and batch.grading.level is top.level:
        t.inc.grading = batch.grading
    reason = wording.alert_raised_level(top.name, top.level, top.score)
    t.set_level(top.level, reason, ALERTMANAGER)


def _alerts_cleared(t: Transition, ask_to_confirm: bool) -> None:
    inc, now = t.inc, t.now
    then = t.playbook.alerts_cleared
    t.event(
        EventKind.ALERTS_CLEARED,
        wording.alerts_cleared(inc.alerts_total, then.value),
        actor=ALERTMANAGER.name,
        data={"alerts": inc.alerts_total, "then": then.value},
    )
    if then is AlertsCleared.RESOLVED:
        inc.status = Status.RESOLVED
        inc.resolved_at = now
        inc.resolved_by = ALERTMANAGER.name
        inc.resolution_summary = "every alert resolved"
        t.close()
        event = t.event(
            EventKind.RESOLVED,
            wording.resolved(inc, "every alert resolved"),
            actor=ALERTMANAGER.name,
            data={"duration_ms": millis(now - inc.declared_at)},
        )
    else:
        inc.status = Status.MITIGATED
        inc.mitigated_at = now
        t.s.mitigated_by_alerts = True
        event = t.event(
            EventKind.MITIGATED,
            wording.mitigated("every alert resolved; confirm and resolve"),
            actor=ALERTMANAGER.name,
        )
    t.notify(NotificationKind.STATUS, event)
    if ask_to_confirm and inc.status is Status.MITIGATED and inc.acknowledged_at is None:
        t.ask_to_confirm()


def _refire(t: Transition, firing: list[AlertIn]) -> None:
    """Alerts fire again while the incident waits, mitigated by its alerts, for a human."""
    inc = t.inc
    inc.status = Status.ACKNOWLEDGED if inc.acknowledged_at else Status.TRIGGERED
    inc.mitigated_at = None
    t.s.mitigated_by_alerts = False
    t.s.next_confirm_at = None
    event = t.event(
        EventKind.REOPENED,
        wording.reopened([a.name for a in firing], "mitigated"),
        actor=ALERTMANAGER.name,
    )
    t.notify(NotificationKind.STATUS, event)


def _reopen(t: Transition, firing: list[AlertIn]) -> None:
    inc, s, now = t.inc, t.s, t.now
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
            inc.ack_deadline = max(inc.ack_deadline, now + t.playbook.response_window)
    else:
        s.next_reminder_at = now + t.playbook.update_every
    event = t.event(
        EventKind.REOPENED,
        wording.reopened([a.name for a in firing], "resolved"),
        actor=ALERTMANAGER.name,
        data={"deadline": inc.ack_deadline},
    )
    t.notify(
        NotificationKind.PAGE, event, targets.primaries(t.playbooks.matrix, inc.type, Role.LEAD)
    )
