"""Whether a person's action fits the incident as it stands: each check raises
``IncidentConflict`` or ``InvalidAction`` for one that does not. The incident workflow runs them
as update validators, so a refused action leaves nothing in the history."""

from __future__ import annotations

from domain.errors import IncidentConflict, InvalidAction
from domain.models import Level, Status
from domain.rules.state import IncidentState


def check_open(state: IncidentState, action: str, incident_id: str | None = None) -> None:
    inc = state.incident
    if incident_id is not None and incident_id != inc.id:
        # The alert group of that incident has a newer one; the old one is over.
        raise IncidentConflict(f"cannot {action} incident {incident_id}: it is resolved")
    if inc.status is Status.RESOLVED:
        raise IncidentConflict(
            f"cannot {action} incident {inc.id}: it was resolved at "
            f"{inc.resolved_at:%Y-%m-%d %H:%M:%S} UTC"
        )


def check_acknowledge(state: IncidentState, incident_id: str | None = None) -> None:
    check_open(state, "acknowledge", incident_id)
    inc = state.incident
    if inc.acknowledged_at is not None:
        raise IncidentConflict(
            f"already acknowledged by {inc.acknowledged_by} at "
            f"{inc.acknowledged_at:%Y-%m-%d %H:%M:%S} UTC"
        )


def check_change_level(state: IncidentState, level: Level, incident_id: str | None = None) -> None:
    check_open(state, "change the level of", incident_id)
    if level is state.incident.level:
        raise InvalidAction(f"incident is already level {level}")


def check_mitigate(state: IncidentState, incident_id: str | None = None) -> None:
    check_open(state, "mitigate", incident_id)
    if state.incident.status is Status.MITIGATED:
        raise IncidentConflict(
            f"already mitigated at {state.incident.mitigated_at:%Y-%m-%d %H:%M:%S} UTC"
        )


def check_acknowledge_partner(
    state: IncidentState, partner: str, incident_id: str | None = None
) -> None:
    check_open(state, f"acknowledge partner {partner} on", incident_id)
    response = next((p for p in state.incident.partners if p.partner == partner), None)
    if response is None:
        engaged = ", ".join(p.partner for p in state.incident.partners) or "none"
        raise InvalidAction(
            f"partner {partner} is not engaged in incident {state.incident.id} (engaged: {engaged})"
        )
    if response.acknowledged_at is not None:
        raise IncidentConflict(
            f"partner {partner} already acknowledged by {response.acknowledged_by} at "
            f"{response.acknowledged_at:%Y-%m-%d %H:%M:%S} UTC"
        )
