"""Properties of the incident rules (``domain.rules``), in milliseconds and without Temporal.

``simulate`` drives the rules as the workflow's loop does: it fires whatever is due before the
next action, applies the action, and carries on to the end. Hypothesis varies the level, the
type, the actions and their instants; the properties are ADR 0005's deadline rules and the
promises responders rely on (a breach is final, an acknowledgement stops every page, no step
pages twice). The time-skipping tests in ``tests/workflows`` prove the same wiring on Temporal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.alerts import AlertBatch, AlertIn, AlertOutcome, AlertState
from domain.errors import IncidentConflict, InvalidAction
from domain.models import (
    Actor,
    Declaration,
    EventKind,
    IncidentType,
    Level,
    NotificationKind,
    Role,
    Source,
    Status,
    TimelineEvent,
)
from domain.playbook import PlaybookSet
from domain.rules import alert_group, checks, deadlines, lifecycle
from domain.rules.effects import Outcome
from domain.rules.state import IncidentState
from playbooks.loader import load_playbooks

PLAYBOOKS = load_playbooks()
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ALICE = Actor(name="Alice")
BOB = Actor(name="Bob")
PAGING = {NotificationKind.PAGE, NotificationKind.ESCALATION, NotificationKind.BREACH}
# Long enough for the slowest playbook (C: 60m window, 15m re-pages) to breach and re-page.
HORIZON = timedelta(hours=3)


@dataclass(frozen=True)
class Ack:
    by: Actor = BOB


@dataclass(frozen=True)
class ChangeLevel:
    level: Level


@dataclass(frozen=True)
class Update:
    text: str = "rolled back"


@dataclass(frozen=True)
class Mitigate:
    pass


@dataclass(frozen=True)
class Resolve:
    pass


Action = Ack | ChangeLevel | Update | Mitigate | Resolve


@dataclass
class Run:
    state: IncidentState
    events: list[TimelineEvent] = field(default_factory=list)
    outcomes: list[tuple[datetime, str, Outcome]] = field(default_factory=list)

    def take(self, at: datetime, what: str, outcome: Outcome) -> None:
        self.state = outcome.state
        self.events.extend(outcome.events)
        self.outcomes.append((at, what, outcome))

    def of(self, kind: EventKind) -> list[TimelineEvent]:
        return [e for e in self.events if e.kind is kind]

    def pages_after(self, at: datetime) -> list[NotificationKind]:
        return [
            n.kind
            for when, _, outcome in self.outcomes
            if when > at
            for n in outcome.notifications
            if n.kind in PAGING
        ]


def opened(level: Level, kind: IncidentType, playbooks: PlaybookSet = PLAYBOOKS) -> Run:
    declaration = Declaration(title="Checkout failing", level=level, type=kind, declared_by=ALICE)
    state = lifecycle.open_incident(
        declaration, incident_id="20261123-k7qz", declared_at=T0, playbooks=playbooks
    )
    run = Run(state)
    run.take(T0, "declare", lifecycle.declare(state, playbooks, ALICE, T0))
    return run


def fire_until(run: Run, until: datetime, playbooks: PlaybookSet = PLAYBOOKS) -> None:
    """Fire every deadline up to ``until``, as the workflow's loop would."""
    while (due := deadlines.next_due(run.state, playbooks)) is not None and due <= until:
        run.take(due, "timer", lifecycle.fire_due(run.state, playbooks, due))
        after = deadlines.next_due(run.state, playbooks)
        assert after is None or after > due, f"no progress at {due}: next due {after}"


def act(run: Run, action: Action, at: datetime, playbooks: PlaybookSet = PLAYBOOKS) -> bool:
    """Apply ``action`` if the rules allow it (the workflow's validators); False if refused."""
    s = run.state
    try:
        match action:
            case Ack(by=by):
                checks.check_acknowledge(s)
                outcome = lifecycle.acknowledge(s, playbooks, by, at)
            case ChangeLevel(level=level):
                checks.check_change_level(s, level)
                outcome = lifecycle.change_level(s, playbooks, level, "why", BOB, at)
            case Update(text=text):
                checks.check_open(s, "post an update to")
                outcome = lifecycle.post_update(s, playbooks, text, BOB, at)
            case Mitigate():
                checks.check_mitigate(s)
                outcome = lifecycle.mitigate(s, playbooks, BOB, "", at)
            case Resolve():
                checks.check_open(s, "resolve")
                outcome = lifecycle.resolve(s, playbooks, BOB, "", at)
    except (IncidentConflict, InvalidAction):
        return False
    run.take(at, type(action).__name__, outcome)
    return True


def simulate(level: Level, kind: IncidentType, script: list[tuple[int, Action]]) -> Run:
    run = opened(level, kind)
    for offset, action in sorted(script, key=lambda item: item[0]):
        at = T0 + timedelta(seconds=offset)
        fire_until(run, at)
        act(run, action, at)
    fire_until(run, T0 + HORIZON)
    return run


levels = st.sampled_from(list(Level))
kinds = st.sampled_from(list(IncidentType))
offsets = st.integers(min_value=0, max_value=int(HORIZON.total_seconds()))
actions: st.SearchStrategy[Action] = st.one_of(
    st.just(Ack()),
    levels.map(ChangeLevel),
    st.just(Update()),
    st.just(Mitigate()),
    st.just(Resolve()),
)
scripts = st.lists(st.tuples(offsets, actions), max_size=8)


@given(levels, kinds, scripts)
def test_the_timeline_is_numbered_in_order_and_versions_only_grow(
    level: Level, kind: IncidentType, script: list[tuple[int, Action]]
) -> None:
    run = simulate(level, kind, script)

    assert [e.seq for e in run.events] == list(range(1, len(run.events) + 1))
    assert all(e.incident_id == run.state.incident.id for e in run.events)
    assert [e.at for e in run.events] == sorted(e.at for e in run.events)
    assert run.state.incident.version >= len(run.events)


@given(levels, kinds, scripts)
def test_the_window_breaches_at_most_once_and_a_breach_is_final(
    level: Level, kind: IncidentType, script: list[tuple[int, Action]]
) -> None:
    run = simulate(level, kind, script)

    breaches = run.of(EventKind.BREACHED)
    assert len(breaches) <= 1
    if breaches:
        deadline = run.state.incident.ack_deadline
        assert breaches[0].at == deadline  # fired at the deadline in force, not later
        # No level change after the breach moved the deadline.
        for event in run.of(EventKind.LEVEL_CHANGED):
            if event.at >= breaches[0].at:
                assert event.data["deadline_before"] == event.data["deadline_after"]
        assert run.state.incident.window_breached


@given(levels, kinds, scripts)
def test_an_acknowledgement_stops_every_page(
    level: Level, kind: IncidentType, script: list[tuple[int, Action]]
) -> None:
    run = simulate(level, kind, script)

    acks = run.of(EventKind.ACKNOWLEDGED)
    assert len(acks) <= 1
    if acks:
        assert run.pages_after(acks[0].at) == []
        assert run.state.incident.acknowledged_at == acks[0].at
    else:
        # Nobody acknowledged within three hours: the window breached and re-pages went on.
        assert run.state.incident.window_breached or run.state.incident.status is Status.RESOLVED


@given(levels, kinds, st.lists(st.tuples(offsets, levels.map(ChangeLevel)), max_size=4))
def test_every_escalation_step_fires_at_most_once_per_level_span(
    level: Level, kind: IncidentType, script: list[tuple[int, Action]]
) -> None:
    run = simulate(level, kind, script)

    spans: list[list[int]] = [[]]
    for event in run.events:
        if event.kind is EventKind.LEVEL_CHANGED:
            spans.append([])
        elif event.kind is EventKind.ESCALATED:
            spans[-1].append(event.data["step"])
    for steps in spans:
        assert steps == sorted(set(steps)), f"a step fired twice or out of order: {steps}"
        assert steps == list(range(1, len(steps) + 1))


@given(levels, levels, kinds, st.integers(min_value=0, max_value=3600))
def test_raising_never_extends_and_lowering_never_shortens_the_deadline(
    start: Level, to: Level, kind: IncidentType, offset: int
) -> None:
    run = opened(start, kind)
    at = T0 + timedelta(seconds=offset)
    fire_until(run, at)
    before = run.state.incident.ack_deadline
    breached = run.state.incident.window_breached
    if not act(run, ChangeLevel(to), at):
        assert start is to
        return

    after = run.state.incident.ack_deadline
    if breached:
        assert after == before
    elif to.is_more_serious_than(start):
        assert after <= before
        assert after <= at + PLAYBOOKS.for_level(to).response_window
    else:
        assert after >= before
        assert after == max(before, T0 + PLAYBOOKS.for_level(to).response_window)


@given(levels, kinds, offsets)
def test_fire_due_does_nothing_when_nothing_is_due(
    level: Level, kind: IncidentType, offset: int
) -> None:
    run = opened(level, kind)
    at = T0 + timedelta(seconds=offset)
    fire_until(run, at)
    due = deadlines.next_due(run.state, PLAYBOOKS)
    assert due is None or due > at

    outcome = lifecycle.fire_due(run.state, PLAYBOOKS, at)

    assert outcome.events == []
    assert outcome.notifications == []
    assert outcome.state == run.state


@given(levels, kinds, scripts)
def test_the_rules_never_change_the_state_they_are_given(
    level: Level, kind: IncidentType, script: list[tuple[int, Action]]
) -> None:
    run = opened(level, kind)
    for offset, action in sorted(script, key=lambda item: item[0]):
        at = T0 + timedelta(seconds=offset)
        given_state = run.state
        frozen = given_state.model_copy(deep=True)
        fire_until(run, at)
        act(run, action, at)
        assert given_state == frozen


def test_before_the_late_steps_patch_a_stack_down_past_the_deadline_only_breached() -> None:
    run = opened(Level.A, IncidentType.SERVICE_OUTAGE)
    late = T0 + timedelta(minutes=40)  # past every step (5m, 10m) and the 15m deadline

    outcome = lifecycle.fire_due(run.state, PLAYBOOKS, late)

    assert [e.kind for e in outcome.events] == [EventKind.BREACHED]
    assert outcome.events[0].data["skipped_steps"] == 2
    assert [n.kind for n in outcome.notifications] == [NotificationKind.BREACH]


def test_steps_that_fell_due_while_the_stack_was_down_fire_late_marked_then_the_breach() -> None:
    run = opened(Level.A, IncidentType.SERVICE_OUTAGE)
    late = T0 + timedelta(minutes=40)  # past both steps (5m, 10m) and the 15m deadline

    outcome = lifecycle.fire_due(run.state, PLAYBOOKS, late, late_steps=True)

    kinds = [e.kind for e in outcome.events]
    assert kinds == [EventKind.ESCALATED, EventKind.ESCALATED, EventKind.BREACHED]
    first, second, breach = outcome.events
    assert first.data["late_by_ms"] == 35 * 60 * 1000
    assert second.data["late_by_ms"] == 30 * 60 * 1000
    assert first.text.endswith("(late by 35m 0s: tocsin was not running when it fell due)")
    assert breach.data["skipped_steps"] == 0
    assert [n.kind for n in outcome.notifications] == [
        NotificationKind.ESCALATION,
        NotificationKind.ESCALATION,
        NotificationKind.BREACH,
    ]
    # Each step pages its own tier: nobody the playbook names is left out.
    tiers = [{t.tier for t in n.targets} for n in outcome.notifications]
    assert tiers[0] != tiers[2]


def test_a_step_fired_on_time_is_not_marked_late() -> None:
    run = opened(Level.A, IncidentType.SERVICE_OUTAGE)
    on_time = T0 + timedelta(minutes=5, milliseconds=40)

    outcome = lifecycle.fire_due(run.state, PLAYBOOKS, on_time, late_steps=True)

    (step,) = outcome.events
    assert "late_by_ms" not in step.data
    assert "late by" not in step.text


# --------------------------------------------------------------------------------- alerts


def alert(fingerprint: str, status: AlertState, start: int, level: Level = Level.C) -> AlertIn:
    return AlertIn(
        fingerprint=fingerprint,
        name=f"Alert{fingerprint}",
        status=status,
        starts_at=T0 + timedelta(seconds=start),
        level=level if status is AlertState.FIRING else None,
    )


def alert_run(level: Level) -> Run:
    declaration = Declaration(
        title="Support chat down",
        level=level,
        type=IncidentType.SERVICE_OUTAGE,
        declared_by=lifecycle.ALERTMANAGER,
        source=Source.ALERTMANAGER,
        alert_group="tocsin {}:{alertname=x}",
    )
    state = lifecycle.open_incident(
        declaration, incident_id="20261123-090000-abcdefgh", declared_at=T0, playbooks=PLAYBOOKS
    )
    run = Run(state)
    run.take(T0, "declare", lifecycle.declare(state, PLAYBOOKS, lifecycle.ALERTMANAGER, T0))
    return run


def deliver(
    run: Run, alerts: list[AlertIn], at: datetime, *, ask_to_confirm: bool = False
) -> AlertOutcome:
    batch = AlertBatch(request_id="r", alert_group="tocsin {}:{alertname=x}", alerts=alerts)
    outcome, result = alert_group.receive_alerts(
        run.state, PLAYBOOKS, batch, at, opened=False, ask_to_confirm=ask_to_confirm
    )
    run.take(at, "alerts", outcome)
    return result.outcome


fingerprints = st.sampled_from(["a1", "b2", "c3", "d4"])
alert_lists = st.lists(
    st.builds(
        alert,
        fingerprints,
        st.sampled_from(list(AlertState)),
        st.integers(min_value=0, max_value=3),
        levels,
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda a: a.fingerprint,  # Alertmanager sends each alert of a group once
)


@given(levels, alert_lists)
def test_a_repeated_delivery_changes_nothing(level: Level, alerts: list[AlertIn]) -> None:
    run = alert_run(level)
    deliver(run, alerts, T0 + timedelta(seconds=10))
    before, events = run.state, len(run.events)

    outcome = deliver(run, alerts, T0 + timedelta(seconds=20))

    assert outcome is AlertOutcome.DUPLICATE
    assert len(run.events) == events
    assert run.state == before


@given(levels, alert_lists)
def test_an_alert_never_lowers_the_level(level: Level, alerts: list[AlertIn]) -> None:
    run = alert_run(level)

    deliver(run, alerts, T0 + timedelta(seconds=10))

    assert run.state.incident.level.rank >= level.rank
    firing = [a.level.rank for a in alerts if a.level is not None]
    assert run.state.incident.level.rank == max([level.rank, *firing])


@given(levels, st.lists(fingerprints, min_size=1, max_size=4, unique=True))
def test_when_every_alert_resolves_the_level_playbook_decides(
    level: Level, names: list[str]
) -> None:
    run = alert_run(level)
    deliver(run, [alert(f, AlertState.FIRING, 0, level) for f in names], T0)

    deliver(run, [alert(f, AlertState.RESOLVED, 0) for f in names], T0 + timedelta(minutes=1))

    expected = {Level.A: Status.MITIGATED, Level.B: Status.MITIGATED, Level.C: Status.RESOLVED}
    assert run.state.incident.status is expected[level]
    assert deadlines.next_due(run.state, PLAYBOOKS) is None  # nobody is chased any more
    assert run.state.incident.alerts_firing == 0


@settings(max_examples=50)
@given(st.integers(min_value=1, max_value=29 * 60))
def test_firing_again_within_the_reopen_window_reopens_with_a_fresh_window(gap: int) -> None:
    run = alert_run(Level.C)
    deliver(run, [alert("a1", AlertState.FIRING, 0)], T0)
    cleared = T0 + timedelta(minutes=1)
    deliver(run, [alert("a1", AlertState.RESOLVED, 0)], cleared)
    assert run.state.reopen_until == cleared + PLAYBOOKS.for_level(Level.C).reopen_within

    again = cleared + timedelta(seconds=gap)
    outcome = deliver(run, [alert("a1", AlertState.FIRING, gap + 60)], again)

    assert outcome is AlertOutcome.REOPENED
    assert run.state.incident.status is Status.TRIGGERED
    assert run.state.incident.ack_deadline >= again + PLAYBOOKS.for_level(Level.C).response_window
    assert run.outcomes[-1][2].notifications[-1].kind is NotificationKind.PAGE


@pytest.mark.parametrize("level", [Level.A, Level.B])
def test_alerts_cleared_before_anyone_acknowledged_ask_the_lead_to_confirm_on_the_cadence(
    level: Level,
) -> None:
    run = alert_run(level)
    deliver(run, [alert("a1", AlertState.FIRING, 0, level)], T0, ask_to_confirm=True)
    cleared = T0 + timedelta(minutes=2)

    deliver(run, [alert("a1", AlertState.RESOLVED, 0)], cleared, ask_to_confirm=True)

    every = PLAYBOOKS.for_level(level).update_every
    (asked,) = run.of(EventKind.CONFIRM_REQUESTED)
    assert "confirm it is over and resolve it" in asked.text
    reminder = run.outcomes[-1][2].notifications[-1]
    assert reminder.kind is NotificationKind.REMINDER
    assert [t.role for t in reminder.targets] == [Role.LEAD]
    assert deadlines.next_due(run.state, PLAYBOOKS) == cleared + every
    # Nothing chases the acknowledgement any more, so the incident is not "overdue".
    assert run.state.incident.time_left(cleared + timedelta(hours=5)) is None

    fire_until(run, cleared + 2 * every)
    assert len(run.of(EventKind.CONFIRM_REQUESTED)) == 3
    assert run.pages_after(cleared) == []  # asked, never paged

    act(run, Resolve(), cleared + 2 * every + timedelta(minutes=1))
    assert deadlines.next_due(run.state, PLAYBOOKS) is None


def test_without_the_patch_cleared_alerts_wait_silently_as_before() -> None:
    run = alert_run(Level.B)
    deliver(run, [alert("a1", AlertState.FIRING, 0, Level.B)], T0)
    deliver(run, [alert("a1", AlertState.RESOLVED, 0)], T0 + timedelta(minutes=2))

    assert run.of(EventKind.CONFIRM_REQUESTED) == []
    assert deadlines.next_due(run.state, PLAYBOOKS) is None


def test_an_acknowledgement_counts_from_the_moment_the_person_acted() -> None:
    run = opened(Level.B, IncidentType.SERVICE_OUTAGE)
    pressed = T0 + timedelta(minutes=29, seconds=50)  # ten seconds inside a 30-minute window
    taken = T0 + timedelta(minutes=31)  # the worker got to it after the deadline

    fire_until(run, taken)
    run.take(taken, "ack", lifecycle.acknowledge(run.state, PLAYBOOKS, BOB, taken, pressed))

    incident = run.state.incident
    assert incident.acknowledged_at == pressed
    (acked,) = run.of(EventKind.ACKNOWLEDGED)
    assert acked.data["within_window"] is True
    assert acked.data["time_to_ack_ms"] == (29 * 60 + 50) * 1000
    assert acked.data["taken_after_ms"] == 70_000
    assert acked.text == (
        "Acknowledged by Bob after 29m 50s, within the 30m window (tocsin took it 1m 10s later)"
    )


def test_an_acknowledgement_is_never_stamped_in_the_future_or_before_the_declaration() -> None:
    run = opened(Level.C, IncidentType.SERVICE_OUTAGE)
    now = T0 + timedelta(minutes=3)

    ahead = lifecycle.acknowledge(run.state, PLAYBOOKS, BOB, now, now + timedelta(hours=1))
    behind = lifecycle.acknowledge(run.state, PLAYBOOKS, BOB, now, T0 - timedelta(hours=1))

    assert ahead.state.incident.acknowledged_at == now
    assert behind.state.incident.acknowledged_at == T0
