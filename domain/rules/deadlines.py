"""When something is next due: an escalation step, the breach, a re-page or a reminder.

The workflow waits until ``next_due`` and then lets ``lifecycle.fire_due`` act; these two
functions are all the scheduling there is (ADR 0002, ADR 0005).
"""

from __future__ import annotations

from datetime import datetime

from domain.models import Status
from domain.playbook import PlaybookSet
from domain.rules.state import IncidentState


def next_step_at(state: IncidentState, playbooks: PlaybookSet) -> datetime | None:
    """When the next escalation step of the current level fires; steps that would fire at or
    after the deadline are skipped, because the breach pages instead."""
    inc = state.incident
    steps = playbooks.for_level(inc.level).escalation
    if state.next_step >= len(steps) or inc.window_breached:
        return None
    at = state.level_since + steps[state.next_step].after
    return at if at < inc.ack_deadline else None


def next_partner_due(state: IncidentState, playbooks: PlaybookSet) -> datetime | None:
    """When ``fire_partners`` next has something to do: a partner step of the current level,
    or a silent partner's target (then each re-page)."""
    inc = state.incident
    if inc.status is Status.RESOLVED:
        return None
    candidates = [
        p.next_page_at
        for p in inc.partners
        if p.acknowledged_at is None and p.next_page_at is not None
    ]
    steps = playbooks.for_level(inc.level).partners
    if state.next_partner_step < len(steps):
        candidates.append(state.level_since + steps[state.next_partner_step].after)
    return min(candidates, default=None)


def next_due(
    state: IncidentState, playbooks: PlaybookSet, *, partners: bool = False
) -> datetime | None:
    """The earliest instant at which ``fire_due`` (or, with ``partners``, ``fire_partners``)
    has something to do; None when nothing is scheduled (resolved, or waiting for a person
    with nothing to chase)."""
    due = _incident_due(state, playbooks)
    partner_due = next_partner_due(state, playbooks) if partners else None
    if due is None or partner_due is None:
        return due or partner_due
    return min(due, partner_due)


def _incident_due(state: IncidentState, playbooks: PlaybookSet) -> datetime | None:
    inc = state.incident
    if inc.status is Status.RESOLVED:
        return None
    if inc.status is Status.MITIGATED and inc.acknowledged_at is None:
        # Its alerts cleared before anyone acknowledged: nobody is paged any more, but the
        # lead is asked, on the level's cadence, to confirm and resolve it.
        return state.next_confirm_at
    candidates: list[datetime] = []
    if inc.acknowledged_at is None:
        step_at = next_step_at(state, playbooks)
        if step_at is not None:
            candidates.append(step_at)
        if not inc.window_breached:
            candidates.append(inc.ack_deadline)
        elif state.next_repage_at is not None:
            candidates.append(state.next_repage_at)
    elif state.next_reminder_at is not None:
        candidates.append(state.next_reminder_at)
    return min(candidates) if candidates else None
