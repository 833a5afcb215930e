"""An incident's transitions: declaration, acknowledgement, level changes (ADR 0005), status
updates, mitigation, resolution, and what fires when a deadline passes.

Each takes the state (never changed in place), the pinned playbooks and the instant ``now``
read from Temporal, and returns an ``Outcome``; ``domain.rules.checks`` says first whether an
action fits at all.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain import wording
from domain.durations import format_duration, millis
from domain.models import (
    Actor,
    Declaration,
    EventKind,
    Incident,
    Level,
    NotificationKind,
    PagedPerson,
    Recipient,
    Role,
    Source,
    Status,
    TimelineEvent,
)
from domain.playbook import LevelPlaybook, PlaybookSet
from domain.rules import targets
from domain.rules.deadlines import next_step_at
from domain.rules.effects import Notify, NotifyTarget, Outcome
from domain.rules.state import IncidentState

ALERTMANAGER = Actor(name="Alertmanager")

# A timer fires a few milliseconds after its instant; one this late was held up by an outage.
LATE_AFTER = timedelta(seconds=5)
# An acknowledgement applied this long after the person acted says so on the timeline.
TAKEN_LATE_AFTER = timedelta(seconds=5)


def open_incident(
    declaration: Declaration, *, incident_id: str, declared_at: datetime, playbooks: PlaybookSet
) -> IncidentState:
    """The state of an incident that has just been declared, before ``declare`` pages."""
    window = playbooks.for_level(declaration.level).response_window
    fields = declaration.model_dump(exclude={"declared_by"})
    return IncidentState(
        incident=Incident(
            **fields,
            id=incident_id,
            declared_at=declared_at,
            declared_by=declaration.declared_by.name,
            ack_deadline=declared_at + window,
            response_window_seconds=window.total_seconds(),
        ),
        level_since=declared_at,
    )


class Transition:
    """A working copy of the state and what happened to it; ``outcome()`` hands it over.

    Shared by this module and ``alert_group``: every change of an incident goes through the
    same few moves (an event, a notification, a level change, closing)."""

    def __init__(self, state: IncidentState, playbooks: PlaybookSet, now: datetime) -> None:
        self.s = state.model_copy(deep=True)
        self.playbooks = playbooks
        self.now = now
        self._out = Outcome(state=self.s)

    @property
    def inc(self) -> Incident:
        return self.s.incident

    @property
    def playbook(self) -> LevelPlaybook:
        return self.playbooks.for_level(self.inc.level)

    def outcome(self) -> Outcome:
        return self._out

    def event(
        self,
        kind: EventKind,
        text: str,
        *,
        actor: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> TimelineEvent:
        self.s.seq += 1
        self.inc.version += 1
        event = TimelineEvent(
            incident_id=self.inc.id,
            seq=self.s.seq,
            at=self.now,
            kind=kind,
            actor=actor,
            text=text,
            data=_plain(data or {}),
        )
        self._out.events.append(event)
        return event

    def notify(
        self,
        kind: NotificationKind,
        event: TimelineEvent,
        to: list[NotifyTarget] | None = None,
    ) -> None:
        self._out.notifications.append(Notify(kind=kind, event=event, targets=to or []))

    # ---------------------------------------------------------------------------- moves

    def declare(self, by: Actor) -> None:
        inc, matrix = self.inc, self.playbooks.matrix
        declared = self.event(
            EventKind.DECLARED,
            wording.declared(inc, self.playbook.response_window),
            actor=by.name,
            data={"level": inc.level, "type": inc.type, "window": self.playbook.response_window},
        )
        for role, kind, event_kind in (
            (Role.LEAD, NotificationKind.PAGE, EventKind.PAGED),
            (Role.SUPPORT, NotificationKind.ENGAGE, EventKind.ENGAGED),
            (Role.INFORMED, NotificationKind.NOTICE, EventKind.INFORMED),
        ):
            functions = matrix.functions(inc.type, role)
            if not functions:
                continue
            event = self.event(
                event_kind,
                wording.engaged(role, functions),
                data={"functions": functions, "tier": "primary"},
            )
            pages = (
                targets.declaration_pages(matrix, inc.type)
                if role is Role.LEAD
                else targets.primaries(matrix, inc.type, role)
            )
            self.notify(kind, event, pages)
        self.notify(NotificationKind.STATUS, declared)

    def acknowledge(
        self, by: Actor, implied_by: str | None = None, acted_at: datetime | None = None
    ) -> None:
        inc, now = self.inc, self.now
        # The moment the person acted, as the API or Slack received it, not the moment a busy
        # or stalled worker got to it; never before the declaration nor after now.
        at = now if acted_at is None else max(inc.declared_at, min(acted_at, now))
        inc.acknowledged_at = at
        inc.acknowledged_by = by.name
        inc.ack_level = inc.level
        self.s.owner = by
        if inc.status is Status.TRIGGERED:
            inc.status = Status.ACKNOWLEDGED
        self.s.next_repage_at = None
        self.s.next_reminder_at = now + self.playbook.update_every
        taken_after = now - at if now - at > TAKEN_LATE_AFTER else None
        event = self.event(
            EventKind.ACKNOWLEDGED,
            wording.acknowledged(inc, by, implied_by, taken_after),
            actor=by.name,
            data={
                "time_to_ack_ms": millis(at - inc.declared_at),
                "within_window": at <= inc.ack_deadline,
                "level": inc.level,
                "slack_user_id": by.slack_user_id,
                **({"taken_after_ms": millis(taken_after)} if taken_after else {}),
            },
        )
        self.notify(NotificationKind.STATUS, event)

    def set_level(self, level: Level, reason: str, by: Actor) -> None:
        """ADR 0005: raising never gives more time, lowering never takes time away, a breach
        is final; the new level's escalation starts over from now."""
        inc, s, now = self.inc, self.s, self.now
        old_level, old_deadline = inc.level, inc.ack_deadline
        new = self.playbooks.for_level(level)
        raised = level.is_more_serious_than(old_level)
        inc.level = level
        inc.response_window_seconds = new.response_window.total_seconds()
        s.level_since = now
        s.next_step = 0
        s.next_partner_step = 0
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
        event = self.event(
            EventKind.LEVEL_CHANGED,
            wording.level_changed(old_level, level, reason, inc, old_deadline),
            actor=by.name,
            data={
                "from": old_level,
                "to": level,
                "reason": reason,
                "deadline_before": old_deadline,
                "deadline_after": inc.ack_deadline,
            },
        )
        self.notify(NotificationKind.STATUS, event)

    def resolve(self, by: Actor, summary: str) -> TimelineEvent:
        inc, now = self.inc, self.now
        inc.status = Status.RESOLVED
        inc.resolved_at = now
        inc.resolved_by = by.name
        inc.resolution_summary = summary or None
        self.close()
        return self.event(
            EventKind.RESOLVED,
            wording.resolved(inc, summary),
            actor=by.name,
            data={"duration_ms": millis(now - inc.declared_at)},
        )

    def close(self) -> None:
        self.s.next_reminder_at = None
        self.s.next_repage_at = None
        for response in self.inc.partners:
            response.next_page_at = None
        if self.inc.source is Source.ALERTMANAGER:
            self.s.reopen_until = self.now + self.playbook.reopen_within

    # ----------------------------------------------------------------------------- timers

    def fire_due(self, late_steps: bool = False) -> None:
        s, inc, now = self.s, self.inc, self.now
        if (
            inc.acknowledged_at is None
            and inc.status is Status.MITIGATED
            and s.next_confirm_at is not None
        ):
            # Only incidents begun since the confirm-cleared patch have a confirmation due;
            # the others keep what fire_due did before it.
            if s.next_confirm_at <= now:
                self.ask_to_confirm()
            return
        if inc.acknowledged_at is None:
            if late_steps and not inc.window_breached:
                # Steps that fell due while tocsin was down fire now, each marked late, so
                # every tier they page is paged and the timeline says what happened.
                while (step_at := next_step_at(s, self.playbooks)) is not None and step_at <= now:
                    late = now - step_at
                    self._escalate(s.next_step, late if late > LATE_AFTER else None)
                    s.next_step += 1
            if not inc.window_breached and inc.ack_deadline <= now:
                # Back after an outage past the deadline: the breach pages the tiers that the
                # remaining steps would have paged, so they are not paged twice.
                skipped = 0
                while next_step_at(s, self.playbooks) is not None:
                    skipped += 1
                    s.next_step += 1
                self._breach(skipped_steps=skipped)
                return
            while (step_at := next_step_at(s, self.playbooks)) is not None and step_at <= now:
                self._escalate(s.next_step)
                s.next_step += 1
            if inc.window_breached and s.next_repage_at is not None and s.next_repage_at <= now:
                self._repage()
        elif s.next_reminder_at is not None and s.next_reminder_at <= now:
            self._remind()

    def ask_to_confirm(self) -> None:
        """Every alert resolved before anyone acknowledged: the lead is asked to confirm the
        incident is over and resolve it (or acknowledge it to keep working), on the level's
        cadence, so it is never left open with nobody told."""
        every = self.playbook.update_every
        self.s.next_confirm_at = self.now + every
        event = self.event(
            EventKind.CONFIRM_REQUESTED,
            wording.confirm_requested(self.inc, self.now),
            data={"every": every},
        )
        self.notify(NotificationKind.REMINDER, event, targets.owner(self.s, self.playbooks.matrix))

    def _page_targets(self, page: list[Any]) -> list[NotifyTarget]:
        return targets.resolve(self.playbooks.matrix, self.inc.type, page)

    def _escalate(self, index: int, late_by: timedelta | None = None) -> None:
        steps = self.playbook.escalation
        self.inc.escalation_count += 1
        data: dict[str, Any] = {"step": index + 1, "after": steps[index].after}
        if late_by is not None:
            data["late_by_ms"] = millis(late_by)
        event = self.event(
            EventKind.ESCALATED,
            wording.escalated(index + 1, len(steps), steps[index].page, late_by),
            data=data,
        )
        self.notify(NotificationKind.ESCALATION, event, self._page_targets(steps[index].page))

    def _breach(self, skipped_steps: int = 0) -> None:
        inc, now, policy = self.inc, self.now, self.playbook.on_breach
        inc.window_breached = True
        inc.breached_at = now
        inc.breach_level = inc.level
        inc.escalation_count += 1
        self.s.next_repage_at = now + policy.repeat_every
        event = self.event(
            EventKind.BREACHED,
            wording.breached(inc, policy.page, now),
            data={
                "deadline": inc.ack_deadline,
                "late_by_ms": millis(now - inc.ack_deadline),
                "skipped_steps": skipped_steps,
            },
        )
        self.notify(NotificationKind.BREACH, event, self._page_targets(policy.page))

    def _repage(self) -> None:
        policy = self.playbook.on_breach
        self.inc.escalation_count += 1
        self.s.next_repage_at = self.now + policy.repeat_every
        event = self.event(
            EventKind.REPAGED,
            wording.repaged(self.inc, policy.page, self.now),
            data={"repeat_every": policy.repeat_every},
        )
        self.notify(NotificationKind.BREACH, event, self._page_targets(policy.page))

    def _remind(self) -> None:
        inc, every = self.inc, self.playbook.update_every
        self.s.next_reminder_at = self.now + every
        since = inc.last_update_at or inc.acknowledged_at or inc.declared_at
        event = self.event(
            EventKind.UPDATE_REMINDER,
            wording.update_due(self.now - since),
            data={"update_every": every},
        )
        self.notify(NotificationKind.REMINDER, event, targets.owner(self.s, self.playbooks.matrix))


# ------------------------------------------------------------------------------ actions


def declare(state: IncidentState, playbooks: PlaybookSet, by: Actor, now: datetime) -> Outcome:
    """Page the lead functions, engage the supporting ones, inform the rest (the matrix)."""
    t = Transition(state, playbooks, now)
    t.declare(by)
    return t.outcome()


def acknowledge(
    state: IncidentState,
    playbooks: PlaybookSet,
    by: Actor,
    now: datetime,
    acted_at: datetime | None = None,
) -> Outcome:
    """``acted_at``: when the person acted, if known; the acknowledgement counts from then."""
    t = Transition(state, playbooks, now)
    t.acknowledge(by, acted_at=acted_at)
    return t.outcome()


def change_level(
    state: IncidentState,
    playbooks: PlaybookSet,
    level: Level,
    reason: str,
    by: Actor,
    now: datetime,
) -> Outcome:
    t = Transition(state, playbooks, now)
    t.set_level(level, reason, by)
    return t.outcome()


def post_update(
    state: IncidentState, playbooks: PlaybookSet, text: str, by: Actor, now: datetime
) -> Outcome:
    """A status update; once acknowledged, the next reminder is a full cadence away."""
    t = Transition(state, playbooks, now)
    t.inc.last_update_at = now
    if t.inc.acknowledged_at is not None:
        t.s.next_reminder_at = now + t.playbook.update_every
    event = t.event(EventKind.UPDATE_POSTED, text, actor=by.name)
    t.notify(NotificationKind.STATUS, event)
    return t.outcome()


def mitigate(
    state: IncidentState, playbooks: PlaybookSet, by: Actor, note: str, now: datetime
) -> Outcome:
    """Mitigating an unacknowledged incident acknowledges it as the same person."""
    t = Transition(state, playbooks, now)
    if t.inc.acknowledged_at is None:
        t.acknowledge(by, implied_by="mitigating")
    t.inc.status = Status.MITIGATED
    t.inc.mitigated_at = now
    event = t.event(EventKind.MITIGATED, wording.mitigated(note), actor=by.name)
    t.notify(NotificationKind.STATUS, event)
    return t.outcome()


def resolve(
    state: IncidentState, playbooks: PlaybookSet, by: Actor, summary: str, now: datetime
) -> Outcome:
    """Resolving an unacknowledged incident acknowledges it as the same person."""
    t = Transition(state, playbooks, now)
    if t.inc.acknowledged_at is None:
        t.acknowledge(by, implied_by="resolving")
    t.notify(NotificationKind.STATUS, t.resolve(by, summary))
    return t.outcome()


def fire_due(
    state: IncidentState, playbooks: PlaybookSet, now: datetime, *, late_steps: bool = False
) -> Outcome:
    """Everything due at or before ``now``: escalation steps, the breach, a re-page, a
    reminder. Nothing changes when nothing is due.

    With ``late_steps`` (incidents begun since the ``late-steps-fired`` patch), steps that
    fell due while nothing ran, up to the deadline, fire late and marked so before the
    breach; before it they were folded into the breach, which paged only its own tiers."""
    t = Transition(state, playbooks, now)
    t.fire_due(late_steps)
    return t.outcome()


def note_failure(
    state: IncidentState,
    playbooks: PlaybookSet,
    failure: tuple[NotificationKind, str, str, str],
    now: datetime,
) -> Outcome:
    """A notification the channel refused for good (``kind``, ``recipient``, ``reason``,
    ``key``) goes on the timeline; no message about it, since the channel that refused it
    would most likely refuse that too."""
    kind, recipient, reason, key = failure
    t = Transition(state, playbooks, now)
    t.event(
        EventKind.NOTIFICATION_FAILED,
        wording.notification_failed(kind, recipient, reason),
        data={"key": key, "kind": kind, "recipient": recipient, "reason": reason},
    )
    return t.outcome()


def note_reached(
    state: IncidentState, kind: NotificationKind, at: datetime, recipients: list[Recipient]
) -> IncidentState:
    """Who a notification reached, folded into the incident's ``paged`` list: one line per
    person and tier, so re-pages over a long outage do not grow the state."""
    s = state.model_copy(deep=True)
    paged = s.incident.paged
    for recipient in recipients:
        entry = PagedPerson(
            name=recipient.person.name,
            function=recipient.function,
            tier=recipient.tier,
            role=recipient.role,
            kind=kind,
            at=at,
        )
        same = [
            i
            for i, p in enumerate(paged)
            if (p.name, p.function, p.tier) == (entry.name, entry.function, entry.tier)
        ]
        if same:
            entry.times = paged[same[0]].times + 1
            paged[same[0]] = entry
        else:
            paged.append(entry)
    if recipients:
        s.incident.version += 1
    return s


# ------------------------------------------------------------------------------ helpers


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
