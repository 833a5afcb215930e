"""Request bodies and response shapes of the HTTP API.

Request bodies forbid unknown fields, so a misspelt field (``levle``) is a 422 that names it
instead of a silently ignored value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tocsin.domain import Incident, IncidentType, Level, TimelineEvent

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


class IncidentOut(Incident):
    """An incident with the figures a responder reads first."""

    time_left_seconds: float | None = Field(
        description="seconds left to acknowledge; negative when overdue, null once "
        "acknowledged or closed"
    )
    time_to_ack_seconds: float | None = Field(
        description="seconds from declaration to first acknowledgement"
    )

    @classmethod
    def of(cls, incident: Incident, now: datetime) -> IncidentOut:
        left = incident.time_left(now)
        to_ack = incident.time_to_ack
        return cls(
            **incident.model_dump(),
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
