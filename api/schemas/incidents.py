"""Incidents: declaring one, acting on it, and how the API shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StrictBool, StringConstraints

from api.schemas.common import By, Note, PersonName, Reason, RequestBody, Text, Title
from domain.models import (
    Function,
    Grading,
    Incident,
    IncidentType,
    Level,
    PagedPerson,
    PartnerResponse,
    Source,
    Status,
    Tier,
    TimelineEvent,
)


class DeclareRequest(RequestBody):
    title: Title
    description: Note = ""
    # No default level or type: a wrong guess would set the wrong response window and page
    # the wrong function.
    level: Level
    type: IncidentType
    service: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    # Strict: lax validation took 0 and "yes" for a boolean the spec says is one (schemathesis).
    drill: StrictBool = False
    by: PersonName | None = Field(
        default=None, description="who declares it; default: the token's person, else its name"
    )


class AckRequest(RequestBody):
    by: By = None


class AckTaken(BaseModel):
    """202: no worker applied the acknowledgement within the call's bound, and Temporal holds
    it for the next one (ADR 0038). Unless someone acknowledged first, it counts from
    ``acted_at``; the incident shows it once applied."""

    detail: str
    incident_id: str
    acknowledged_by: str
    acted_at: datetime


class ChangeLevelRequest(RequestBody):
    level: Level
    reason: Reason
    by: By = None


class PostUpdateRequest(RequestBody):
    text: Text
    by: By = None


class MitigateRequest(RequestBody):
    by: By = None
    note: Note = ""


class ResolveRequest(RequestBody):
    by: By = None
    summary: Note = ""


class Paging(BaseModel):
    """Someone a declaration is paging."""

    name: str
    function: Function
    tier: Tier


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
        "acknowledged, mitigated (nothing is escalated any more) or closed"
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
    paging: list[Paging] | None = Field(
        default=None,
        description="in the answer to a declaration only: who it is paging, from the "
        "coordination matrix and the roster as they are now; `paged` fills in as each page "
        "is delivered",
    )
    grading: Grading | None = Field(description="why an alert-opened incident got its level")
    partners: list[PartnerResponse] = Field(
        default_factory=list,
        description="external partners engaged, each judged against its own respond_within",
    )
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
