"""The Alertmanager webhook's answers: what each notification did to its group's incident."""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.models import Grading, Level, Status


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
