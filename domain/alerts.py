"""Alert deliveries as an incident receives them, and what a delivery did to it."""

from __future__ import annotations

from datetime import UTC
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field

from domain.models import Grading, Incident, Level


class AlertState(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class AlertIn(BaseModel):
    """One alert of a delivery, as the incident needs it."""

    fingerprint: str
    name: str
    status: AlertState
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None
    level: Level | None = Field(default=None, description="graded level, for firing alerts")
    score: float | None = None
    # Labels, annotations and link of the first alerts of each delivery, for the timeline;
    # left out beyond that so a storm of thousands stays small in the history.
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    generator_url: str | None = None

    @property
    def seen_as(self) -> str:
        return f"{self.status.value}@{self.starts_at.astimezone(UTC).isoformat()}"


class AlertBatch(BaseModel):
    """Part of one Alertmanager notification for one group (large ones come in parts)."""

    request_id: str
    alert_group: str
    external_url: str = ""
    alerts: list[AlertIn]
    # The grading of the most serious firing alert of the batch, with every factor.
    grading: Grading | None = None
    truncated_alerts: int = 0


class AlertOutcome(StrEnum):
    OPENED = "opened"
    JOINED = "joined"
    REOPENED = "reopened"
    DUPLICATE = "duplicate"


class AlertResult(BaseModel):
    incident: Incident
    outcome: AlertOutcome
    new_firing: int = 0
    new_resolved: int = 0
    duplicates: int = 0
