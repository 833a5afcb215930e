"""Post-incident reviews: what the owner writes, amendments after publication, how a review
and a search hit show."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from api.schemas.actions import ActionOut
from api.schemas.common import By, PersonName, Reason, RequestBody
from domain.models import IncidentType, Level, TimelineEvent
from domain.reviews import ActionItem, Amendment, KeyTimes, Review, ReviewStatus

Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Lines = Annotated[list[Line], Field(max_length=50)]
Prose = Annotated[str, StringConstraints(max_length=10_000)]
CauseCategory = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)
]


class ReviewPatch(RequestBody):
    """What the owner writes; every field is optional, only the given ones change."""

    summary: Prose | None = None
    customer_impact: Prose | None = None
    root_cause: Prose | None = None
    five_whys: Lines | None = Field(default=None, description="why, why, why… to the root")
    cause_category: CauseCategory | None = None
    contributing_factors: Lines | None = None
    went_well: Lines | None = None
    went_badly: Lines | None = None
    lessons: Lines | None = None
    owner: PersonName | None = None
    status: Literal["draft", "in_review"] | None = Field(
        default=None, description="in_review: ready for others to read; publish to publish"
    )
    version: int | None = Field(
        default=None, ge=1, description="the version edited; a newer one stored is a 409"
    )
    by: By = None

    def changes(self) -> dict[str, object]:
        values = self.model_dump(exclude_none=True, exclude={"by", "version"})
        if "status" in values:
            values["status"] = ReviewStatus(values["status"])
        return values


class AmendRequest(RequestBody):
    summary: Prose | None = None
    customer_impact: Prose | None = None
    root_cause: Prose | None = None
    five_whys: Lines | None = None
    cause_category: CauseCategory | None = None
    contributing_factors: Lines | None = None
    went_well: Lines | None = None
    went_badly: Lines | None = None
    lessons: Lines | None = None
    reason: Reason
    by: By = None

    def changes(self) -> dict[str, object]:
        return self.model_dump(exclude_none=True, exclude={"by", "reason"})


class PublishRequest(RequestBody):
    by: By = None


class ReviewOut(BaseModel):
    id: str
    incident_id: str
    title: str
    level: Level
    type: IncidentType
    service: str | None
    drill: bool
    status: ReviewStatus
    owner: str
    due_at: datetime
    summary: str
    customer_impact: str
    root_cause: str
    five_whys: list[str]
    cause_category: str | None
    contributing_factors: list[str]
    went_well: list[str]
    went_badly: list[str]
    lessons: list[str]
    timeline: list[TimelineEvent]
    key_times: KeyTimes
    breaches: list[str]
    participants: list[str]
    action_items: list[ActionOut]
    amendments: list[Amendment]
    created_at: datetime
    submitted_at: datetime | None
    published_at: datetime | None
    published_by: str | None
    version: int

    @classmethod
    def of(cls, review: Review, actions: list[ActionItem], now: datetime) -> ReviewOut:
        return cls(
            **review.model_dump(),
            action_items=[ActionOut.of(a, now) for a in actions],
        )


class ReviewHit(BaseModel):
    id: str
    incident_id: str
    title: str
    level: Level
    service: str | None
    status: ReviewStatus
    owner: str
    due_at: datetime
    published_at: datetime | None
    root_cause: str
    rank: float | None = Field(description="how well it matches q; higher is better")


class ReviewList(BaseModel):
    items: list[ReviewHit]
