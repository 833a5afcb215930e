"""What-if reports: recorded incidents replayed under today's and candidate playbooks, one
outcome beside the other (DESIGN.md §3, "Playbook tests and what-if")."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field

from domain.models import Level


class WhatIfStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class WhatIfRequest(BaseModel):
    since: AwareDatetime
    until: AwareDatetime | None = None
    level: Level | None = None


class PageAt(BaseModel):
    who: str
    at_seconds: int = Field(description="the first page, in seconds after the declaration")


class Side(BaseModel):
    """One incident's outcome under one set of playbooks."""

    paged: list[PageAt] = Field(default_factory=list)
    acknowledged_within_window: bool = False
    breaches: int = 0
    escalation_steps: int = 0
    pages_per_person: dict[str, int] = Field(default_factory=dict)
    statements_due: int = 0
    statements_met: int = 0
    acks_not_given: list[str] = Field(default_factory=list)


class IncidentWhatIf(BaseModel):
    id: str
    title: str
    level: Level
    declared_at: AwareDatetime
    today: Side
    candidate: Side


class Total(BaseModel):
    incidents: int = 0
    acknowledged_within_window: int = 0
    breaches: int = 0
    escalation_steps: int = 0
    pages: int = 0
    pages_per_person: dict[str, int] = Field(default_factory=dict)
    statements_due: int = 0
    statements_met: int = 0
    acks_not_given: int = 0


class Totals(BaseModel):
    today: Total
    candidate: Total


class WhatIfReport(BaseModel):
    status: WhatIfStatus = WhatIfStatus.DONE
    since: AwareDatetime
    until: AwareDatetime | None = None
    level: Level | None = None
    incidents: list[IncidentWhatIf] = Field(default_factory=list)
    totals: Totals
    note: str | None = None


# Replays a request against the candidate playbook directory named (the worker is handed one).
Replay = Callable[[WhatIfRequest, str], Awaitable[WhatIfReport]]
