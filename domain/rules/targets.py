"""Whom a step pages, as function and tier: the roster resolves people at send time."""

from __future__ import annotations

from collections.abc import Sequence

from domain.models import Function, IncidentType, Person, Recipient, Role, Tier
from domain.playbook import CoordinationMatrix, PageTarget, PlaybookSet
from domain.roster import Roster
from domain.rules.effects import NotifyTarget
from domain.rules.state import IncidentState


def primaries(matrix: CoordinationMatrix, kind: IncidentType, role: Role) -> list[NotifyTarget]:
    """The primary tier of every function the matrix gives ``role`` for this type."""
    return [
        NotifyTarget(function=f, tier=Tier.PRIMARY, role=role) for f in matrix.functions(kind, role)
    ]


def declaration_pages(matrix: CoordinationMatrix, kind: IncidentType) -> list[NotifyTarget]:
    """Who a declaration pages: the primary tier of the lead functions."""
    return primaries(matrix, kind, Role.LEAD)


def resolve(
    matrix: CoordinationMatrix, kind: IncidentType, page: Sequence[PageTarget]
) -> list[NotifyTarget]:
    """Expand "a tier of the lead function(s)" into concrete function/tier pairs."""
    leads = matrix.functions(kind, Role.LEAD)
    targets: list[NotifyTarget] = []
    for target in page:
        functions: list[Function] = [target.function] if target.function else leads
        for function in functions:
            # A function outside the type's row (leadership, usually) is paged to help.
            role = matrix.types[kind].get(function, Role.SUPPORT)
            candidate = NotifyTarget(function=function, tier=target.tier, role=role)
            if candidate not in targets:
                targets.append(candidate)
    return targets


def owner(state: IncidentState, matrix: CoordinationMatrix) -> list[NotifyTarget]:
    """Who is reminded of status updates: whoever acknowledged (the incident's owner), in the
    lead function's role; before that, the lead functions' primary tier."""
    leads = primaries(matrix, state.incident.type, Role.LEAD)
    if state.owner is None:
        return leads
    return [leads[0].model_copy(update={"person": state.owner})]


def recipients(roster: Roster, targets: list[NotifyTarget]) -> list[Recipient]:
    """The people behind each target, as the roster is now (ADR 0003)."""
    found: list[Recipient] = []
    for target in targets:
        if target.partner is not None:
            found.extend(r for r in _partner_contact(roster, target) if r not in found)
            continue
        if target.person is not None:
            people = [_person(roster, target.person.name, target.person.slack_user_id)]
            tier = target.tier
        else:
            people = roster.people(target.function, target.tier)
            tier = target.tier
            if not people:
                # A tier nobody holds must not swallow the page: the function's primary
                # (which the roster schema guarantees) gets it instead.
                people, tier = roster.people(target.function, Tier.PRIMARY), Tier.PRIMARY
        for person in people:
            recipient = Recipient(
                person=person, function=target.function, tier=tier, role=target.role
            )
            if recipient not in found:
                found.append(recipient)
    return found


def _partner_contact(roster: Roster, target: NotifyTarget) -> list[Recipient]:
    """A partner's contact by position; the last when escalation has gone past them all, none
    when the roster no longer has the partner."""
    assert target.partner is not None
    partner = roster.partners.get(target.partner)
    if partner is None:
        return []
    contact = partner.contacts[min(target.contact, len(partner.contacts) - 1)]
    return [
        Recipient(
            person=contact,
            function=target.function,
            tier=target.tier,
            role=target.role,
            partner=target.partner,
        )
    ]


def _person(roster: Roster, name: str, slack_user_id: str | None) -> Person:
    """Someone named on the incident (who acknowledged it): the roster's entry if they are in
    it, by Slack ID or name, else just the name and Slack ID they acted with."""
    for person in roster.everyone():
        if (slack_user_id and person.slack_user_id == slack_user_id) or (person.name == name):
            return person
    return Person(name=name, slack_user_id=slack_user_id)


def lead_targets(playbooks: PlaybookSet, kind: IncidentType) -> list[NotifyTarget]:
    """The primary and the manager of each function leading ``kind``: who hears that a
    review or an action item is overdue."""
    leads = playbooks.matrix.functions(kind, Role.LEAD)
    return [
        NotifyTarget(function=function, tier=tier, role=Role.LEAD)
        for function in leads
        for tier in (Tier.PRIMARY, Tier.MANAGER)
    ]
