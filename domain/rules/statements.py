"""When a customer statement needs something done: a draft's approval falling due (a statement
breach, the holding statement), escalation of an approval through the tiers, the next update
of the cadence. Pure functions over ``StatementsState``; ``workflows.statements`` holds the
timer and runs what they decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain import wording
from domain.models import EventKind, Incident, Status, TimelineEvent
from domain.playbook import CustomerPolicy, PageTarget
from domain.rules.effects import Ask, Effect, Publish, Record
from domain.statements import (
    STATEMENT_SEQ,
    Stage,
    Statement,
    StatementsState,
    StatementStatus,
)

# An update is drafted this long before it is due (at most half the cadence), so the
# communications lead can approve it in time.
UPDATE_LEAD = timedelta(minutes=10)


def awaiting(state: StatementsState) -> Statement | None:
    """The draft waiting for approval, if any (one at a time: a new draft replaces it)."""
    drafts = [m for m in state.messages if m.status is StatementStatus.DRAFT]
    return drafts[-1] if drafts else None


def published(state: StatementsState) -> list[Statement]:
    return [m for m in state.messages if m.status is StatementStatus.PUBLISHED]


def update_drafted_at(state: StatementsState, policy: CustomerPolicy) -> datetime | None:
    """When the next update of the cadence is drafted; None when none is due."""
    if state.next_update_due is None or state.incident.status is Status.RESOLVED:
        return None
    if awaiting(state) is not None:
        return None
    lead = min(UPDATE_LEAD, policy.update_every / 2)
    return state.next_update_due - lead


def _step_at(message: Statement, policy: CustomerPolicy) -> datetime | None:
    if message.due_at is None or message.escalations >= len(policy.escalate):
        return None
    return message.due_at + policy.escalate[message.escalations].after


def _deadline_holds(state: StatementsState, quiet_once_resolved: bool) -> bool:
    """A draft's due time stops counting once the incident is resolved: a late "resolved"
    statement is still worth approving, but it is no breach, calls for no holding statement
    and escalates to nobody."""
    return not (quiet_once_resolved and state.incident.status is Status.RESOLVED)


def next_due(
    state: StatementsState, policy: CustomerPolicy, *, quiet_once_resolved: bool = False
) -> datetime | None:
    candidates: list[datetime] = []
    draft = awaiting(state)
    if (
        draft is not None
        and draft.due_at is not None
        and _deadline_holds(state, quiet_once_resolved)
    ):
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

    message: Statement
    holding: bool


@dataclass(frozen=True)
class Escalate:
    message: Statement
    step: int
    page: list[PageTarget]


@dataclass(frozen=True)
class DraftUpdate:
    stage: Stage
    due_at: datetime


Due = Breach | Escalate | DraftUpdate


def due_now(
    state: StatementsState,
    policy: CustomerPolicy,
    now: datetime,
    *,
    quiet_once_resolved: bool = False,
) -> list[Due]:
    """What falls due at ``now``, in the order to do it."""
    actions: list[Due] = []
    draft = awaiting(state)
    if (
        draft is not None
        and draft.due_at is not None
        and _deadline_holds(state, quiet_once_resolved)
    ):
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


# ------------------------------------------------------------------------- transitions
#
# Each transition takes the state and returns the next one with the effects to carry out,
# in order: nothing here sends, renders or waits. Whatever needs the outside world first (a
# body rendered from the templates) is an argument; a transition that leads to another such
# need says so (``Outcome.hold``, ``Outcome.draft``) and the workflow comes back with it.


@dataclass(frozen=True)
class Outcome:
    state: StatementsState
    effects: list[Effect] = field(default_factory=list)
    # The statement the action produced or changed (what an update answers with).
    message: Statement | None = None
    # A breach that calls for the holding statement: publish one for this stage.
    hold: Stage | None = None
    # A change of the incident that calls for a new draft of this stage, due then.
    draft: DraftUpdate | None = None


class NotADraft(Exception):
    """The statement is past approval (approved, rejected, published or superseded)."""


class NotPublished(Exception):
    """Only a published statement can be corrected."""


class UnknownStatement(Exception):
    """No statement of that id in this incident."""


def find(state: StatementsState, message_id: str) -> Statement:
    for message in state.messages:
        if message.id == message_id:
            return message
    raise UnknownStatement(f"no statement {message_id}")


def waiting_draft(state: StatementsState, message_id: str) -> Statement:
    """The draft an approval or rejection is for; raises when it is past approval."""
    message = find(state, message_id)
    if message.status is not StatementStatus.DRAFT:
        raise NotADraft(wording.statement_not_a_draft(message))
    return message


def draft(
    state: StatementsState,
    *,
    stage: Stage,
    body: str,
    due_at: datetime | None,
    by: str,
    now: datetime,
    asked: list[PageTarget],
    reason: str = "",
) -> Outcome:
    """A new draft replaces any draft still waiting, and ``asked`` are asked to approve it."""
    s = state.model_copy(deep=True)
    effects: list[Effect] = []
    for waiting in s.messages:
        if waiting.status is StatementStatus.DRAFT:
            waiting.status = StatementStatus.SUPERSEDED
            waiting.version += 1
            effects.append(Record(waiting.model_copy(deep=True)))
    message = _new_message(s, stage=stage, body=body, by=by, now=now, due_at=due_at)
    s.update_reminded = False
    event = _event(
        s,
        EventKind.STATEMENT_DRAFTED,
        wording.statement_drafted(stage.value, due_at, wording.asked(asked), reason),
        by,
        now,
        message=message.id,
        stage=stage.value,
    )
    copy = message.model_copy(deep=True)
    effects += [Record(copy, (event,)), Ask(copy, asked, event, f"{message.id}/ask")]
    return Outcome(s, effects, message=copy)


def approve(
    state: StatementsState,
    policy: CustomerPolicy,
    message_id: str,
    *,
    by: str,
    body: str | None,
    now: datetime,
) -> Outcome:
    s = state.model_copy(deep=True)
    message = waiting_draft(s, message_id)
    edited = body is not None and body.strip() != message.body
    if body is not None:
        message.body = body.strip()
    message.status = StatementStatus.APPROVED
    message.approved_by = by
    message.approved_at = now
    message.version += 1
    event = _event(
        s,
        EventKind.STATEMENT_APPROVED,
        wording.statement_approved(by, edited),
        by,
        now,
        message=message.id,
    )
    effects: list[Effect] = [Record(message.model_copy(deep=True), (event,))]
    effects += _publish(s, policy, message, now)
    return Outcome(s, effects, message=message.model_copy(deep=True))


def reject(
    state: StatementsState, message_id: str, *, by: str, reason: str, now: datetime
) -> Outcome:
    """Rejected; the statement is still due: the workflow drafts it again, keeping the clock."""
    s = state.model_copy(deep=True)
    message = waiting_draft(s, message_id)
    message.status = StatementStatus.REJECTED
    message.rejected_by = by
    message.rejected_reason = reason
    message.version += 1
    event = _event(
        s,
        EventKind.STATEMENT_REJECTED,
        wording.statement_rejected(by, reason),
        by,
        now,
        message=message.id,
    )
    copy = message.model_copy(deep=True)
    return Outcome(s, [Record(copy, (event,))], message=copy)


def correct(
    state: StatementsState,
    policy: CustomerPolicy,
    message_id: str,
    *,
    by: str,
    body: str,
    now: datetime,
) -> Outcome:
    """Publish a correction of a published statement; the original is kept, superseded."""
    s = state.model_copy(deep=True)
    original = find(s, message_id)
    if original.status is not StatementStatus.PUBLISHED:
        raise NotPublished(wording.statement_not_correctable(original))
    original.status = StatementStatus.SUPERSEDED
    original.version += 1
    correction = _new_message(
        s,
        stage=original.stage,
        body=body.strip(),
        by=by,
        now=now,
        approved_by=by,
        corrects=original.id,
        drill=original.drill,
    )
    event = _event(
        s,
        EventKind.STATEMENT_CORRECTED,
        wording.statement_corrected(by, original.id),
        by,
        now,
        message=correction.id,
        corrects=original.id,
    )
    effects: list[Effect] = [Record(original.model_copy(deep=True), (event,))]
    effects += _publish(s, policy, correction, now)
    return Outcome(s, effects, message=correction.model_copy(deep=True))


def breach(state: StatementsState, message_id: str, *, holding: bool, now: datetime) -> Outcome:
    """A draft not approved by its due time: recorded once; with ``holding`` the outcome asks
    for the pre-approved holding statement of its stage."""
    s = state.model_copy(deep=True)
    message = find(s, message_id)
    message.breached = True
    message.version += 1
    event = _event(
        s,
        EventKind.STATEMENT_BREACHED,
        wording.statement_breached(message.due_at or now, holding),
        TOCSIN,
        now,
        message=message.id,
    )
    return Outcome(
        s,
        [Record(message.model_copy(deep=True), (event,))],
        hold=message.stage if holding else None,
    )


def hold(
    state: StatementsState, policy: CustomerPolicy, *, stage: Stage, body: str, now: datetime
) -> Outcome:
    """The pre-approved holding statement, published at once."""
    s = state.model_copy(deep=True)
    held = _new_message(
        s,
        stage=stage,
        body=body,
        by=TOCSIN,
        now=now,
        approved_by="pre-approved holding statement",
        holding=True,
    )
    return Outcome(s, _publish(s, policy, held, now), message=held.model_copy(deep=True))


def escalate(
    state: StatementsState,
    policy: CustomerPolicy,
    message_id: str,
    *,
    step: int,
    page: list[PageTarget],
    now: datetime,
) -> Outcome:
    s = state.model_copy(deep=True)
    message = find(s, message_id)
    message.escalations = step + 1
    message.version += 1
    event = _event(
        s,
        EventKind.STATEMENT_ESCALATED,
        wording.statement_escalated(step + 1, len(policy.escalate), wording.asked(page)),
        TOCSIN,
        now,
        message=message.id,
    )
    copy = message.model_copy(deep=True)
    key = f"{message.id}/escalation/{step + 1}"
    return Outcome(s, [Record(copy, (event,)), Ask(copy, page, event, key)])


def incident_changed(
    state: StatementsState,
    before: CustomerPolicy,
    after: CustomerPolicy,
    incident: Incident,
    *,
    now: datetime,
    quiet_once_resolved: bool,
) -> Outcome:
    """The incident changed: customers may need a statement (told for the first time, or the
    incident mitigated or resolved). ``before`` and ``after`` are the policies of the level
    it had and has. Once it is resolved, with ``quiet_once_resolved``, what was drafted for an
    earlier stage is withdrawn: telling customers "investigating" after the fact is wrong."""
    s = state.model_copy(deep=True)
    was = s.incident
    was_told = before.applies(was.type)
    s.incident = incident
    effects: list[Effect] = []
    if quiet_once_resolved and incident.status is Status.RESOLVED:
        for waiting in s.messages:
            if waiting.status is StatementStatus.DRAFT and waiting.stage is not Stage.RESOLVED:
                waiting.status = StatementStatus.SUPERSEDED
                waiting.version += 1
                effects.append(Record(waiting.model_copy(deep=True)))
    if not after.applies(incident.type):
        return Outcome(s, effects)
    soon = DraftUpdate(Stage.of(incident.status), now + after.first_statement)
    wanted: DraftUpdate | None = None
    if not was_told and not s.messages:
        wanted = soon  # a level raised to one whose customers are told
    elif incident.status is not was.status and incident.status in _CLOSING:
        wanted = soon
    if incident.status is Status.RESOLVED:
        s.next_update_due = None
    return Outcome(s, effects, draft=wanted)


def delivered(
    state: StatementsState, message_id: str, *, now: datetime
) -> tuple[StatementsState, TimelineEvent]:
    """A published statement's deliveries settled: the timeline says where it went."""
    s = state.model_copy(deep=True)
    return s, _event(s, EventKind.STATEMENT_DELIVERED, "", TOCSIN, now, message=message_id)


_CLOSING = (Status.MITIGATED, Status.RESOLVED)
TOCSIN = "tocsin"


def _publish(
    s: StatementsState, policy: CustomerPolicy, message: Statement, now: datetime
) -> list[Effect]:
    message.status = StatementStatus.PUBLISHED
    message.published_at = now
    message.version += 1
    if s.incident.status is not Status.RESOLVED:
        s.next_update_due = now + policy.update_every
    event = _event(
        s,
        EventKind.STATEMENT_PUBLISHED,
        wording.statement_published(message.stage.value, message.holding, message.drill),
        TOCSIN,
        now,
        message=message.id,
        stage=message.stage.value,
    )
    copy = message.model_copy(deep=True)
    return [Record(copy, (event,)), Publish(copy)]


def _new_message(
    s: StatementsState,
    *,
    stage: Stage,
    body: str,
    by: str,
    now: datetime,
    due_at: datetime | None = None,
    approved_by: str | None = None,
    holding: bool = False,
    corrects: str | None = None,
    drill: bool | None = None,
) -> Statement:
    s.seq += 1
    message = Statement(
        id=f"{s.incident.id}-m{s.seq}",
        incident_id=s.incident.id,
        stage=stage,
        body=body,
        drill=s.incident.drill if drill is None else drill,
        due_at=due_at,
        drafted_at=now,
        drafted_by=by,
        approved_by=approved_by,
        approved_at=now if approved_by else None,
        holding=holding,
        corrects=corrects,
        status=StatementStatus.APPROVED if approved_by else StatementStatus.DRAFT,
        version=1,
    )
    s.messages.append(message)
    return message


def _event(
    s: StatementsState, kind: EventKind, text: str, by: str, now: datetime, **data: object
) -> TimelineEvent:
    s.event_seq += 1
    return TimelineEvent(
        incident_id=s.incident.id,
        seq=STATEMENT_SEQ + s.event_seq,
        at=now,
        kind=kind,
        actor=by,
        text=text,
        data={k: str(v) if not isinstance(v, int | bool) else v for k, v in data.items()},
    )
