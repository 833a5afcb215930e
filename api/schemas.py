"""Request bodies and response shapes of the HTTP API.

Request bodies forbid unknown fields, so a misspelt field (``levle``) is a 422 that names it
instead of a silently ignored value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain.models import (
    Grading,
    Incident,
    IncidentType,
    Level,
    PagedPerson,
    Source,
    Status,
    TimelineEvent,
)

INCIDENT_ID_PATTERN = r"^[A-Za-z0-9._-]{1,100}$"

PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=10_000)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeclareRequest(_Body):
    title: Title
    description: Note = ""
    # No default level or type: a wrong guess would set the wrong response window and page
    # the wrong function.
    level: Level
    type: IncidentType
    service: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    drill: bool = False
    by: PersonName = Field(default="api", description="who declares the incident")


class AckRequest(_Body):
    by: PersonName


class ChangeLevelRequest(_Body):
    level: Level
    reason: Reason
    by: PersonName


class PostUpdateRequest(_Body):
    text: Text
    by: PersonName


class MitigateRequest(_Body):
    by: PersonName
    note: Note = ""


class ResolveRequest(_Body):
    by: PersonName
    summary: Note = ""


class IncidentOut(BaseModel):
    """An incident as the API shows it, with the figures a responder reads first."""

    id: str
    title: str
    description: str
    level: Level
    type: IncidentType
    service: str | None
    status: Status
    drill: bool
    source: Source
    declared_at: datetime
    declared_by: str
    ack_deadline: datetime
    response_window_seconds: float
    time_left_seconds: float | None = Field(
        description="seconds left to acknowledge; negative when overdue, null once "
        "acknowledged or closed"
    )
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    time_to_ack_seconds: float | None = Field(
        description="seconds from declaration to first acknowledgement"
    )
    window_breached: bool
    breached_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_summary: str | None
    last_update_at: datetime | None
    escalation_count: int
    paged: list[PagedPerson] = Field(description="who was reached, by function and tier")
    grading: Grading | None = Field(description="why an alert-opened incident got its level")
    alerts_firing: int
    alerts_total: int

    @classmethod
    def of(cls, incident: Incident, now: datetime) -> IncidentOut:
        left = incident.time_left(now)
        to_ack = incident.time_to_ack
        return cls(
            **incident.model_dump(exclude={"version", "alert_group"}),
            time_left_seconds=None if left is None else left.total_seconds(),
            time_to_ack_seconds=None if to_ack is None else to_ack.total_seconds(),
        )


class IncidentList(BaseModel):
    items: list[IncidentOut]
    total: int = Field(description="incidents matching the filters, ignoring limit and offset")


class Timeline(BaseModel):
    items: list[TimelineEvent]


class Ready(BaseModel):
    status: str
    checks: dict[str, str]


class GroupOut(BaseModel):
    """What one Alertmanager notification did to its group's incident."""

    receiver: str
    group_key: str
    outcome: str  # opened | joined | reopened | duplicate | ignored
    incident_id: str | None
    level: Level | None
    status: Status | None
    new_firing: int
    new_resolved: int
    duplicates: int
    grading: Grading | None


class IntakeResponse(BaseModel):
    groups: list[GroupOut]


class AcceptedOut(BaseModel):
    """A notification stored for its group's incident; the incident applies it at once."""

    receiver: str
    group_key: str
    outcome: str = Field(description="accepted, or ignored: only resolved alerts, no incident")
    workflow_id: str | None = Field(description="the group's incident workflow")
    alerts: int


class IntakeAccepted(BaseModel):
    groups: list[AcceptedOut]
