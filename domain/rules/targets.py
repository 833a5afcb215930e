"""Whom a step pages, as function and tier: the roster resolves people at send time."""

from __future__ import annotations

from collections.abc import Sequence

from domain.models import Function, IncidentType, Role, Tier
from domain.playbook import CoordinationMatrix, PageTarget
from domain.rules.effects import NotifyTarget
from domain.rules.state import IncidentState


def primaries(matrix: CoordinationMatrix, kind: IncidentType, role: Role) -> list[NotifyTarget]:
    """The primary tier of every function the matrix gives ``role`` for this type."""
    return [
        NotifyTarget(function=f, tier=Tier.PRIMARY, role=role) for f in matrix.functions(kind, role)
    ]


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
