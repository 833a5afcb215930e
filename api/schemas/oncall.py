"""Request bodies and answers of on call: who holds each tier, schedules, shifts, overrides."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, Field, StringConstraints, model_validator

from api.schemas.common import AwareIsoDatetime, PersonName, RequestBody
from domain.models import Function, Person, Tier
from domain.oncall import Source


class OverrideRequest(RequestBody):
    person: PersonName = Field(description="a person of roster.yaml who covers the schedule")
    start: AwareIsoDatetime = Field(description="with its UTC offset, e.g. 2026-12-05T09:00+01:00")
    end: AwareIsoDatetime
    by: PersonName | None = Field(default=None, description="who arranged it")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class OverrideOut(BaseModel):
    id: int
    schedule: str
    person: str
    start: datetime
    end: datetime
    by: str
    reason: str | None


class OnCallItem(BaseModel):
    function: Function
    tier: Tier
    schedule: str | None = Field(description="the schedule holding the tier, if any")
    people: list[Person]
    source: Source = Field(description="roster, rotation, override, or gap (nobody)")
    until: datetime | None = Field(description="when the holder changes; none for the roster")


class ShiftOut(BaseModel):
    person: str | None = Field(description="none in a gap")
    start: datetime
    end: datetime
    source: Source
    rotation: str | None
    override_id: int | None


class RotationOut(BaseModel):
    name: str
    start: str = Field(description="local time of the first handoff")
    shift: str
    people: list[str]
    only: dict[str, object] | None


class OnCallScheduleOut(BaseModel):
    name: str
    time_zone: str
    rotations: list[RotationOut]
    tiers: list[str] = Field(description="the roster's function.tier it holds")
    now: ShiftOut = Field(description="the shift holding it now")


class CalendarFeedOut(BaseModel):
    url: str = Field(description="subscribe to this; shown once, revoke it to stop it")


class OnCallList(BaseModel):
    items: list[OnCallItem]


class OnCallScheduleList(BaseModel):
    items: list[OnCallScheduleOut]


class ShiftList(BaseModel):
    items: list[ShiftOut]


class OverrideList(BaseModel):
    items: list[OverrideOut]
