"""Properties of the statement rules (``domain/rules/statements.py``), the timer loop's
contract: whenever the rules name an instant, something falls due at it; doing what fell due
moves the next instant on; nothing falls due before it; breach and each step happen once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.models import Function, Incident, IncidentType, Level, Status, Tier
from domain.playbook import CustomerPolicy, EscalationStep, PageTarget, Tell
from domain.rules import statements as rules
from domain.statements import Stage, Statement, StatementsState, StatementStatus

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
minutes = st.integers(min_value=0, max_value=240).map(lambda m: timedelta(minutes=m))


@st.composite
def policies(draw: st.DrawFn) -> CustomerPolicy:
    offsets = sorted(draw(st.lists(minutes, max_size=4)))
    return CustomerPolicy(
        tell=Tell.ALWAYS,
        first_statement=draw(minutes),
        update_every=draw(
            st.integers(min_value=1, max_value=240).map(lambda m: timedelta(minutes=m))
        ),
        holding_statement=draw(st.booleans()),
        escalate=[
            EscalationStep(
                after=o, page=[PageTarget(function=Function.BRAND_PR, tier=Tier.MANAGER)]
            )
            for o in offsets
        ],
    )


@st.composite
def states(draw: st.DrawFn) -> StatementsState:
    status = draw(st.sampled_from([Status.TRIGGERED, Status.ACKNOWLEDGED, Status.MITIGATED]))
    incident = Incident(
        id="20261201-abcd",
        title="Checkout failing",
        level=Level.A,
        type=IncidentType.SERVICE_OUTAGE,
        status=status,
        declared_at=T0,
        declared_by="Alice",
        ack_deadline=T0 + timedelta(minutes=15),
        response_window_seconds=900,
    )
    messages = []
    if draw(st.booleans()):
        messages.append(
            Statement(
                id=f"{incident.id}-m1",
                incident_id=incident.id,
                stage=Stage.INVESTIGATING,
                body="We are investigating.",
                due_at=T0 + draw(minutes),
                drafted_at=T0,
                drafted_by="tocsin",
            )
        )
    next_update = T0 + draw(minutes) if not messages and draw(st.booleans()) else None
    return StatementsState(incident=incident, messages=messages, next_update_due=next_update)


def apply(state: StatementsState, actions: list[rules.Due], at: datetime) -> StatementsState:
    """What the workflow does with each action, as far as the rules can see."""
    state = state.model_copy(deep=True)
    for action in actions:
        if isinstance(action, rules.Breach):
            draft = next(m for m in state.messages if m.id == action.message.id)
            draft.breached = True
        elif isinstance(action, rules.Escalate):
            draft = next(m for m in state.messages if m.id == action.message.id)
            draft.escalations = action.step + 1
        else:
            state.messages.append(
                Statement(
                    id=f"{state.incident.id}-m{len(state.messages) + 1}",
                    incident_id=state.incident.id,
                    stage=action.stage,
                    body="An update.",
                    due_at=action.due_at,
                    drafted_at=at,
                    drafted_by="tocsin",
                )
            )
    return state


@settings(max_examples=300, deadline=None)
@given(states(), policies())
def test_the_timer_never_wakes_for_nothing_and_always_moves_on(
    state: StatementsState, policy: CustomerPolicy
) -> None:
    for _ in range(20):
        at = rules.next_due(state, policy)
        if at is None:
            return
        assert rules.due_now(state, policy, at - timedelta(microseconds=1)) == []
        actions = rules.due_now(state, policy, at)
        assert actions, f"woken at {at} with nothing due"
        state = apply(state, actions, at)
        later = rules.next_due(state, policy)
        assert later is None or later > at
    raise AssertionError("the rules kept naming new instants for one draft")


@settings(max_examples=200, deadline=None)
@given(states(), policies(), st.lists(minutes, min_size=1, max_size=6))
def test_a_breach_and_each_escalation_step_happen_once(
    state: StatementsState, policy: CustomerPolicy, wakes: list[timedelta]
) -> None:
    breaches: list[str] = []
    steps: list[int] = []
    for wake in sorted(wakes):
        at = T0 + wake
        actions = rules.due_now(state, policy, at)
        breaches += [a.message.id for a in actions if isinstance(a, rules.Breach)]
        steps += [a.step for a in actions if isinstance(a, rules.Escalate)]
        state = apply(state, [a for a in actions if not isinstance(a, rules.DraftUpdate)], at)
    assert len(breaches) == len(set(breaches)) <= 1
    assert steps == sorted(set(steps))
    assert all(m.status is StatementStatus.DRAFT for m in state.messages)
