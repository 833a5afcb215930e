"""External partners' transitions (ADR 0027): a level's partner steps engage a partner when
they fall due, a partner silent past its own target is marked late and its next contact paged,
and a partner's answer is recorded without acknowledging the incident. Each takes the state,
the pinned playbooks and ``now``, and returns an ``Outcome``, as ``lifecycle``'s do."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain import wording
from domain.durations import millis
from domain.models import (
    Actor,
    EventKind,
    NotificationKind,
    PartnerResponse,
    Role,
    Status,
    Tier,
)
from domain.playbook import PlaybookSet
from domain.rules.effects import NotifyTarget, Outcome
from domain.rules.lifecycle import Transition
from domain.rules.state import IncidentState


def fire_partners(state: IncidentState, playbooks: PlaybookSet, now: datetime) -> Outcome:
    """Partner steps due at or before ``now`` engage their partners; a partner past its own
    target is marked late and its next contact paged (the last again while it stays
    silent)."""
    t = Transition(state, playbooks, now)
    s, inc = t.s, t.inc
    if inc.status is not Status.RESOLVED:
        steps = t.playbook.partners
        while s.next_partner_step < len(steps):
            step = steps[s.next_partner_step]
            if s.level_since + step.after > now:
                break
            s.next_partner_step += 1
            engaged = any(p.partner == step.partner for p in inc.partners)
            known = step.partner in playbooks.partner_targets
            if inc.type in step.types and known and not engaged:
                _engage(t, step.partner)
        for response in inc.partners:
            due = response.next_page_at
            if response.acknowledged_at is None and due is not None and due <= now:
                _late(t, response)
    return t.outcome()


def acknowledge_partner(
    state: IncidentState,
    playbooks: PlaybookSet,
    partner: str,
    by: Actor,
    now: datetime,
    acted_at: datetime | None = None,
) -> Outcome:
    """A partner's contact answered; the incident itself is not acknowledged by it."""
    t = Transition(state, playbooks, now)
    response = next(p for p in t.inc.partners if p.partner == partner)
    at = now if acted_at is None else max(response.engaged_at, min(acted_at, now))
    response.acknowledged_at = at
    response.acknowledged_by = by.name
    response.next_page_at = None
    within = bool(response.within_target)
    event = t.event(
        EventKind.PARTNER_ACKNOWLEDGED,
        wording.partner_acknowledged(partner, by.name, at - response.engaged_at, within),
        actor=by.name,
        data={
            "partner": partner,
            "time_to_ack_ms": millis(at - response.engaged_at),
            "within_target": within,
        },
    )
    t.notify(NotificationKind.STATUS, event)
    return t.outcome()


def _target(t: Transition, partner: str, contact: int) -> NotifyTarget:
    """A partner helps the incident's lead: its contacts are paged on the first lead
    function's behalf, in support."""
    lead = t.playbooks.matrix.functions(t.inc.type, Role.LEAD)[0]
    return NotifyTarget(
        function=lead, tier=Tier.PRIMARY, role=Role.SUPPORT, partner=partner, contact=contact
    )


def _engage(t: Transition, partner: str) -> None:
    inc, now = t.inc, t.now
    within = t.playbooks.partner_targets[partner]
    response = PartnerResponse(
        partner=partner,
        level=inc.level,
        engaged_at=now,
        respond_within_seconds=within.total_seconds(),
        due_at=now + within,
        next_page_at=now + within,
    )
    inc.partners.append(response)
    event = t.event(
        EventKind.PARTNER_ENGAGED,
        wording.partner_engaged(inc, partner, within),
        data={"partner": partner, "respond_within": within, "due_at": response.due_at},
    )
    t.notify(NotificationKind.ENGAGE, event, [_target(t, partner, 0)])


def _late(t: Transition, response: PartnerResponse) -> None:
    within = timedelta(seconds=response.respond_within_seconds)
    response.late = True
    response.contacts_paged += 1
    response.next_page_at = t.now + within
    event = t.event(
        EventKind.PARTNER_LATE,
        wording.partner_late(response.partner, within, response.contacts_paged),
        data={"partner": response.partner, "contact": response.contacts_paged},
    )
    t.notify(
        NotificationKind.ENGAGE, event, [_target(t, response.partner, response.contacts_paged - 1)]
    )
