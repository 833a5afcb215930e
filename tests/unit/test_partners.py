"""External partners in roster.yaml (``partner: true``) and the playbook steps that engage
them: validation names the file, the entry and the field; the rules engage, escalate inside
the partner's contacts and judge it against its own target; the report counts it apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.errors import IncidentConflict, InvalidAction
from domain.models import (
    Actor,
    Declaration,
    EventKind,
    Function,
    IncidentType,
    Level,
    NotificationKind,
)
from domain.playbook import PlaybookSet
from domain.reports import DEFINITIONS, response_rows
from domain.rules import deadlines, lifecycle, partners
from domain.rules.checks import check_acknowledge_partner
from domain.rules.state import IncidentState
from domain.rules.targets import recipients
from playbooks.loader import load_playbooks, load_roster, validate_directory
from testkit.partners import partner_playbooks

T0 = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return partner_playbooks(tmp_path / "playbooks")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_partner_is_read_apart_from_the_functions_with_its_target_pinned(
    directory: Path,
) -> None:
    assert validate_directory(directory) == []
    roster = load_roster(directory)
    partner = roster.partners["cloudhost"]
    assert partner.respond_within == timedelta(minutes=30)
    assert [c.name for c in partner.contacts] == ["CloudHost NOC", "CloudHost duty manager"]
    assert set(roster.functions) == set(Function)
    assert load_playbooks(directory).partner_targets == {"cloudhost": timedelta(minutes=30)}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "respond_within: 30m",
            "respond_within: soon",
            "roster.yaml: functions.cloudhost.respond_within: ",
        ),
        (
            "respond_within: 30m",
            "respond_within: 3d",
            "roster.yaml: functions.cloudhost.respond_within: 3d is out of range: 1m to 1d",
        ),
        (
            "- {name: CloudHost NOC, email: noc@cloudhost.example}",
            "- {name: CloudHost NOC}",
            "roster.yaml: functions.cloudhost.contacts: [0] CloudHost NOC: give an email or a "
            "Slack Connect user ID",
        ),
        (
            "    partner: true\n",
            "    partner: yes please\n",
            "roster.yaml: functions.cloudhost.partner: ",
        ),
        (
            "respond_within: 30m\n",
            "respond_within: 30m\n    tiers: [primary]\n",
            "roster.yaml: functions.cloudhost.tiers: Extra inputs are not permitted",
        ),
    ],
    ids=["bad-duration", "target-out-of-range", "unreachable-contact", "not-true", "extra-field"],
)
def test_a_bad_partner_entry_names_file_entry_and_field(
    directory: Path, old: str, new: str, expected: str
) -> None:
    _edit(directory / "roster.yaml", old, new)
    problems = validate_directory(directory)
    assert any(expected in p for p in problems), problems


def test_a_partner_named_like_a_function_is_refused(directory: Path) -> None:
    _edit(directory / "roster.yaml", "  cloudhost:\n", "  brand_pr:\n")
    problems = validate_directory(directory)
    assert any(
        "roster.yaml" in p and "functions.brand_pr.partner: brand_pr is a function" in p
        for p in problems
    ), problems


def test_an_entry_that_is_neither_a_function_nor_a_partner_says_how_to_write_one(
    directory: Path,
) -> None:
    _edit(directory / "roster.yaml", "    partner: true\n", "")
    assert validate_directory(directory) == [
        f"{directory / 'roster.yaml'}: (top level): functions.cloudhost: not a function of the "
        "organisation (technical_support, customer_service, brand_pr, leadership); an external "
        "partner says partner: true"
    ]


def test_a_step_engaging_no_partner_of_the_roster_names_its_level_file(directory: Path) -> None:
    _edit(directory / "level-a.yaml", "- partner: cloudhost", "- partner: cloudhots")
    problems = validate_directory(directory)
    assert problems == [
        f"{directory / 'level-a.yaml'}: partners[0].partner: no partner 'cloudhots' in "
        "roster.yaml (partners: cloudhost)"
    ]


# ------------------------------------------------------------------------------ the rules


def _declared(
    directory: Path, kind: IncidentType = IncidentType.SERVICE_OUTAGE
) -> tuple[PlaybookSet, IncidentState]:
    playbooks = load_playbooks(directory)
    declaration = Declaration(
        title="Hosting region down", level=Level.A, type=kind, declared_by=Actor(name="Alice")
    )
    state = lifecycle.open_incident(
        declaration, incident_id="INC-1", declared_at=T0, playbooks=playbooks
    )
    state = lifecycle.declare(state, playbooks, Actor(name="Alice"), T0).state
    return playbooks, state


def test_a_step_engages_the_partner_whose_first_contact_is_paged(directory: Path) -> None:
    playbooks, state = _declared(directory)
    assert deadlines.next_due(state, playbooks, partners=True) == T0
    assert deadlines.next_due(state, playbooks) == T0 + timedelta(minutes=5)
    outcome = partners.fire_partners(state, playbooks, T0)
    [event] = outcome.events
    assert event.kind is EventKind.PARTNER_ENGAGED
    assert "must answer within 30m" in event.text
    [notify] = outcome.notifications
    assert notify.kind is NotificationKind.ENGAGE
    reached = recipients(load_roster(directory), notify.targets)
    assert [(r.person.name, r.partner) for r in reached] == [("CloudHost NOC", "cloudhost")]
    [response] = outcome.state.incident.partners
    assert response.due_at == T0 + timedelta(minutes=30)


def test_a_silent_partner_is_late_and_its_next_contacts_are_paged_in_turn(
    directory: Path,
) -> None:
    playbooks, state = _declared(directory)
    state = partners.fire_partners(state, playbooks, T0).state
    due = deadlines.next_partner_due(state, playbooks)
    assert due == T0 + timedelta(minutes=30)
    late = partners.fire_partners(state, playbooks, due)
    [event] = late.events
    assert event.kind is EventKind.PARTNER_LATE
    [notify] = late.notifications
    roster = load_roster(directory)
    assert [r.person.name for r in recipients(roster, notify.targets)] == ["CloudHost duty manager"]
    again = partners.fire_partners(late.state, playbooks, due + timedelta(minutes=30))
    # Past the last contact, the last one is paged again while the partner stays silent.
    assert [r.person.name for r in recipients(roster, again.notifications[0].targets)] == [
        "CloudHost duty manager"
    ]
    assert again.state.incident.partners[0].within_target is False


def test_an_answer_within_target_counts_and_stops_the_pages(directory: Path) -> None:
    playbooks, state = _declared(directory)
    state = partners.fire_partners(state, playbooks, T0).state
    with pytest.raises(InvalidAction, match="partner acme is not engaged"):
        check_acknowledge_partner(state, "acme")
    answered = partners.acknowledge_partner(
        state, playbooks, "cloudhost", Actor(name="CloudHost NOC"), T0 + timedelta(minutes=12)
    ).state
    assert answered.incident.partners[0].within_target is True
    assert answered.incident.acknowledged_at is None  # the incident itself still waits
    assert deadlines.next_partner_due(answered, playbooks) is None
    with pytest.raises(IncidentConflict, match="already acknowledged by CloudHost NOC"):
        check_acknowledge_partner(answered, "cloudhost")


def test_a_partner_step_of_another_incident_type_engages_nobody(directory: Path) -> None:
    playbooks, state = _declared(directory, IncidentType.DATA_LEAK)
    outcome = partners.fire_partners(state, playbooks, T0)
    assert outcome.events == []
    assert deadlines.next_partner_due(outcome.state, playbooks) is None


def test_the_report_counts_partners_apart_from_the_response_window(directory: Path) -> None:
    playbooks, state = _declared(directory)
    engaged = partners.fire_partners(state, playbooks, T0).state
    on_time = partners.acknowledge_partner(
        engaged, playbooks, "cloudhost", Actor(name="NOC"), T0 + timedelta(minutes=10)
    ).state.incident
    late_state = partners.fire_partners(engaged, playbooks, T0 + timedelta(minutes=30)).state
    late = partners.acknowledge_partner(
        late_state, playbooks, "cloudhost", Actor(name="NOC"), T0 + timedelta(minutes=40)
    ).state.incident.model_copy(update={"id": "INC-2"})
    silent = late_state.incident.model_copy(update={"id": "INC-3"})
    pending = engaged.incident.model_copy(update={"id": "INC-4"})  # not judged yet
    [row] = response_rows([on_time, late, silent, pending], {})
    assert row.partners_judged == 3
    assert row.partner_within_target_ratio == pytest.approx(1 / 3)
    assert row.within_window_ratio is None  # nobody inside acknowledged: apart
    assert "partner_within_target_ratio" in DEFINITIONS
