"""Drills: scenarios, runs and their scores, a responder's classification, the lead's scores,
and the scenarios' schedules."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, WithJsonSchema

from api.schemas.common import By, Reason, RequestBody
from domain.drills import CRON_PATTERN, check_cron, check_timezone
from domain.models import IncidentType, Level


class DrillStartRequest(RequestBody):
    scenario: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,40}$")]
    by: By = None


class ClassifyRequest(RequestBody):
    """A responder's triage of a drill incident: the level and type they judge it to be."""

    level: Level
    type: IncidentType
    by: By = None


class ClassificationOut(BaseModel):
    incident_id: str
    by: str
    level: Level
    type: IncidentType
    at: datetime


class LeadScoresRequest(RequestBody):
    """What only the drill's lead can judge, entered after the drill."""

    collaboration: float = Field(ge=0, le=10, description="0 to 10; the target is 8.5")
    reputation_recovery: float = Field(ge=0, le=1, description="0 to 1; the target is 0.85")
    follow_ups: list[Reason] = Field(default_factory=list, max_length=50)
    by: By = None


class ScoreOut(BaseModel):
    target: str
    value: float | None
    goal: str
    met: bool
    note: str


class DrillOut(BaseModel):
    id: str
    scenario: str
    kind: str
    status: str
    started_at: datetime
    ends_at: datetime
    finished_at: datetime | None
    started_by: str
    incidents: list[str] = Field(description="the drill's incidents, in the order of the steps")
    scores: list[ScoreOut]
    passed: bool | None = Field(description="every target met; None while the drill runs")
    collaboration: float | None
    reputation_recovery: float | None
    follow_ups: list[str]


class DrillList(BaseModel):
    items: list[DrillOut]


class ScenarioOut(BaseModel):
    name: str
    title: str
    kind: str
    description: str
    duration_seconds: float
    steps: int
    schedule: str | None = Field(description="its default calendar (cron) and time zone")


class ScenarioList(BaseModel):
    items: list[ScenarioOut]


Cron = Annotated[str, StringConstraints(pattern=CRON_PATTERN), AfterValidator(check_cron)]
# The schema lists the zones this machine knows, so a client can see what is accepted.
_ZONES = {"type": "string", "enum": sorted(zoneinfo.available_timezones())}
TimeZone = Annotated[str, AfterValidator(check_timezone), WithJsonSchema(_ZONES)]


class ScheduleRequest(RequestBody):
    """Overrides of the scenario's own calendar; what is left out comes from the scenario."""

    cron: Cron | None = Field(default=None, description="five cron fields, e.g. '0 10 1 * *'")
    timezone: TimeZone | None = Field(
        default=None, description="an IANA time zone, e.g. Europe/Berlin"
    )
    jitter_seconds: int | None = Field(default=None, ge=0, le=7 * 24 * 3600)
    by: By = None


class ScheduleActionRequest(RequestBody):
    by: By = None


class ScheduleOut(BaseModel):
    scenario: str
    id: str
    cron: str
    timezone: str
    jitter_seconds: float
    paused: bool
    note: str
    next_runs: list[datetime]
    recent_runs: list[datetime]
    runs_so_far: int


class ScheduleList(BaseModel):
    items: list[ScheduleOut]
