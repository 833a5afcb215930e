"""Properties of the statement transitions (``domain/rules/statements.py``): whatever people
and the clock do, in whatever order, a statement moves only forward (draft → approved →
published → superseded; draft → rejected or superseded), one draft at most waits, a refused
action changes nothing, and nothing falls due for customers once the incident is resolved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.models import Function, Incident, IncidentType, Level, Status, Tier
from domain.playbook import CustomerPolicy, EscalationStep, PageTarget, Tell
from domain.rules import statements as rules
from domain.statements import Stage, StatementsState, StatementStatus

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LEAD = [PageTarget(function=Function.BRAND_PR, tier=Tier.PRIMARY)]
POLICY = CustomerPolicy(
    tell=Tell.ALWAYS,
    first_statement=timedelta(minutes=15),
    update_every=timedelta(hours=1),
    holding_statement=True,
    escalate=[
        EscalationStep(
            after=timedelta(0), page=[PageTarget(function=Function.BRAND_PR, tier=Tier.SECONDARY)]
        ),
        EscalationStep(
            after=timedelta(minutes=10),
            page=[PageTarget(function=Function.BRAND_PR, tier=Tier.MANAGER)],
        ),
    ],
)
# What can happen to an incident's statements, in any order: a person's action on the n-th
# statement, the clock moving on, or the incident moving on.
ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["approve", "reject", "correct"]), st.integers(1, 6)),
        st.tuples(st.just("tick"), st.integers(1, 90)),
        st.tuples(st.just("draft"), st.sampled_from(list(Stage))),
        st.tuples(st.just("status"), st.sampled_from(list(Status))),
    ),
    max_size=25,
)
ORDER = {
    StatementStatus.DRAFT: 0,
    StatementStatus.REJECTED: 1,
    StatementStatus.APPROVED: 1,
    StatementStatus.PUBLISHED: 2,
    StatementStatus.SUPERSEDED: 3,
}


def incident(status: Status = Status.TRIGGERED) -> Incident:
    return Incident(
        id="20261201-abcd",
        title="Checkout failing",
        level=Level.A,
        type=IncidentType.SERVICE_OUTAGE,
        status=status,
        declared_at=T0,
        declared_by="Alice",
        ack_deadline=T0 + timedelta(minutes=15),
        response_window_seconds=900,
        resolved_at=T0 if status is Status.RESOLVED else None,
    )


def first_draft(now: datetime = T0) -> StatementsState:
    outcome = rules.draft(
        StatementsState(incident=incident()),
        stage=Stage.INVESTIGATING,
        body="We are investigating.",
        due_at=now + POLICY.first_statement,
        by="tocsin",
        now=now,
        asked=LEAD,
    )
    return outcome.state


def step(state: StatementsState, action: tuple[str, object], now: datetime) -> StatementsState:
    """One action through the rules as the workflow takes it; a refusal leaves the state."""
    verb, arg = action
    ids = [m.id for m in state.messages]
    target = ids[(int(arg) - 1) % len(ids)] if ids and isinstance(arg, int) else ""
    try:
        if verb == "approve":
            return rules.approve(state, POLICY, target, by="Gil", body=None, now=now).state
        if verb == "reject":
            return rules.reject(state, target, by="Gil", reason="tone", now=now).state
        if verb == "correct":
            return rules.correct(state, POLICY, target, by="Gil", body="Fixed.", now=now).state
    except (rules.NotADraft, rules.NotPublished):
        return state
    if verb == "draft":
        assert isinstance(arg, Stage)
        return rules.draft(
            state, stage=arg, body="b", due_at=now + POLICY.first_statement, by="Gil", now=now,
            asked=LEAD,
        ).state  # fmt: skip
    if verb == "status":
        assert isinstance(arg, Status)
        changed = state.incident.model_copy(
            update={"status": arg, "version": state.incident.version + 1,
                    "resolved_at": now if arg is Status.RESOLVED else None}
        )  # fmt: skip
        return rules.incident_changed(
            state, POLICY, POLICY, changed, now=now, quiet_once_resolved=True
        ).state
    return fire_due(state, now)


def fire_due(state: StatementsState, now: datetime) -> StatementsState:
    quiet = state.incident.status is Status.RESOLVED
    for due in rules.due_now(state, POLICY, now, quiet_once_resolved=quiet):
        if isinstance(due, rules.Breach):
            outcome = rules.breach(state, due.message.id, holding=due.holding, now=now)
            state = outcome.state
            if outcome.hold is not None:
                state = rules.hold(state, POLICY, stage=outcome.hold, body="held", now=now).state
        elif isinstance(due, rules.Escalate):
            state = rules.escalate(
                state, POLICY, due.message.id, step=due.step, page=due.page, now=now
            ).state
        else:
            state = rules.draft(
                state, stage=due.stage, body="u", due_at=due.due_at, by="tocsin", now=now,
                asked=LEAD,
            ).state  # fmt: skip
    return state


@settings(max_examples=300, deadline=None)
@given(ACTIONS)
def test_statements_only_move_forward_and_one_draft_waits_at_most(
    actions: list[tuple[str, object]],
) -> None:
    state, now = first_draft(), T0
    for action in actions:
        before = {m.id: m for m in state.messages}
        if action[0] == "tick":
            now += timedelta(minutes=int(action[1]))  # type: ignore[call-overload]
        state = step(state, action, now)
        for message in state.messages:
            if message.id in before:
                was = before[message.id]
                assert ORDER[message.status] >= ORDER[was.status]
                assert message.version >= was.version
        assert sum(m.status is StatementStatus.DRAFT for m in state.messages) <= 1
        assert len({m.id for m in state.messages}) == len(state.messages)


@settings(max_examples=200, deadline=None)
@given(ACTIONS)
def test_nothing_falls_due_for_customers_once_the_incident_is_resolved(
    actions: list[tuple[str, object]],
) -> None:
    state, now = first_draft(), T0
    for action in actions:
        state = step(state, action, now)
    resolved = incident(Status.RESOLVED).model_copy(update={"version": 99})
    state = rules.incident_changed(
        state, POLICY, POLICY, resolved, now=now, quiet_once_resolved=True
    ).state
    assert [m.stage for m in state.messages if m.status is StatementStatus.DRAFT] in (
        [],
        [Stage.RESOLVED],
    )
    assert rules.next_due(state, POLICY, quiet_once_resolved=True) is None
    assert rules.due_now(state, POLICY, now + timedelta(days=1), quiet_once_resolved=True) == []


def test_an_approval_after_a_rejection_is_refused_and_changes_nothing() -> None:
    state = first_draft()
    (draft,) = state.messages
    rejected = rules.reject(state, draft.id, by="Gil", reason="tone", now=T0).state
    with pytest.raises(rules.NotADraft, match="rejected by Gil"):
        rules.approve(rejected, POLICY, draft.id, by="Ada", body=None, now=T0)
    assert rules.find(rejected, draft.id).status is StatementStatus.REJECTED


def test_a_correction_after_publication_supersedes_the_original_and_publishes_itself() -> None:
    state = first_draft()
    (draft,) = state.messages
    published = rules.approve(state, POLICY, draft.id, by="Gil", body=None, now=T0)
    outcome = rules.correct(published.state, POLICY, draft.id, by="Gil", body="Only cards.", now=T0)
    assert rules.find(outcome.state, draft.id).status is StatementStatus.SUPERSEDED
    assert outcome.message is not None
    assert outcome.message.status is StatementStatus.PUBLISHED
    assert outcome.message.corrects == draft.id
    assert [type(e).__name__ for e in outcome.effects] == ["Record", "Record", "Publish"]
    with pytest.raises(rules.NotPublished):
        rules.correct(state, POLICY, draft.id, by="Gil", body="x", now=T0)


def test_an_approved_statement_is_never_breached() -> None:
    state = first_draft()
    (draft,) = state.messages
    approved = rules.approve(state, POLICY, draft.id, by="Gil", body=None, now=T0).state
    later = T0 + timedelta(hours=3)
    assert not any(
        isinstance(d, rules.Breach | rules.Escalate) for d in rules.due_now(approved, POLICY, later)
    )


def test_a_late_draft_breaches_once_holds_once_and_escalates_step_by_step() -> None:
    state = fire_due(first_draft(), T0 + timedelta(minutes=26))
    held = [m for m in state.messages if m.holding]
    assert len(held) == 1
    assert held[0].status is StatementStatus.PUBLISHED
    draft = next(m for m in state.messages if m.status is StatementStatus.DRAFT)
    assert draft.breached
    assert draft.escalations == 2
    assert fire_due(state, T0 + timedelta(minutes=27)) == state
