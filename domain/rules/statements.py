"""When a customer statement needs something done: a draft's approval falling due (a statement
breach, the holding statement), escalation of an approval through the tiers, the next update
of the cadence. Pure functions over ``StatementsState``; ``workflows.statements`` holds the
timer and runs what they decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.models import Status
from domain.playbook import CustomerPolicy, PageTarget
from domain.statements import CustomerMessage, MessageStatus, Stage, StatementsState

# An update is drafted this long before it is due (at most half the cadence), so the
# communications lead can approve it in time.
UPDATE_LEAD = timedelta(minutes=10)


def awaiting(state: StatementsState) -> CustomerMessage | None:
    """The draft waiting for approval, if any (one at a time: a new draft replaces it)."""
    drafts = [m for m in state.messages if m.status is MessageStatus.DRAFT]
    return drafts[-1] if drafts else None


def published(state: StatementsState) -> list[CustomerMessage]:
    return [m for m in state.messages if m.status is MessageStatus.PUBLISHED]


def update_drafted_at(state: StatementsState, policy: CustomerPolicy) -> datetime | None:
    """When the next update of the cadence is drafted; None when none is due."""
    if state.next_update_due is None or state.incident.status is Status.RESOLVED:
        return None
    if awaiting(state) is not None:
        return None
    lead = min(UPDATE_LEAD, policy.update_every / 2)
    return state.next_update_due - lead


def _step_at(message: CustomerMessage, policy: CustomerPolicy) -> datetime | None:
    if message.due_at is None or message.escalations >= len(policy.escalate):
        return None
    return message.due_at + policy.escalate[message.escalations].after


def next_due(state: StatementsState, policy: CustomerPolicy) -> datetime | None:
    candidates: list[datetime] = []
    draft = awaiting(state)
    if draft is not None and draft.due_at is not None:
        if not draft.breached:
            candidates.append(draft.due_at)
        step = _step_at(draft, policy)
        if step is not None:
            candidates.append(step)
    update = update_drafted_at(state, policy)
    if update is not None:
        candidates.append(update)
    return min(candidates) if candidates else None


@dataclass(frozen=True)
class Breach:
    """A draft not approved by its due time: a statement breach, recorded once; with
    ``holding``, the pre-approved holding statement goes out meanwhile."""

    message: CustomerMessage
    holding: bool


@dataclass(frozen=True)
class Escalate:
    message: CustomerMessage
    step: int
    page: list[PageTarget]


@dataclass(frozen=True)
class DraftUpdate:
    stage: Stage
    due_at: datetime


Due = Breach | Escalate | DraftUpdate


def due_now(state: StatementsState, policy: CustomerPolicy, now: datetime) -> list[Due]:
    """What falls due at ``now``, in the order to do it."""
    actions: list[Due] = []
    draft = awaiting(state)
    if draft is not None and draft.due_at is not None:
        if not draft.breached and draft.due_at <= now:
            actions.append(Breach(draft, holding=policy.holding_statement))
        step = draft.escalations
        while step < len(policy.escalate) and draft.due_at + policy.escalate[step].after <= now:
            actions.append(Escalate(draft, step, list(policy.escalate[step].page)))
            step += 1
    update = update_drafted_at(state, policy)
    if update is not None and update <= now and state.next_update_due is not None:
        actions.append(DraftUpdate(Stage.of(state.incident.status), state.next_update_due))
    return actions
