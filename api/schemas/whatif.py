"""Request and response shapes of ``/api/v1/playbooks/what-if``."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.common import AwareIsoDatetime, RequestBody
from domain.models import Level
from domain.whatif import IncidentWhatIf, Totals, WhatIfStatus


class WhatIfStartRequest(RequestBody):
    playbooks: str = Field(
        min_length=1,
        max_length=1000,
        description="the candidate playbook directory, as the worker's machine sees it",
    )
    since: AwareIsoDatetime
    until: AwareIsoDatetime | None = None
    level: Level | None = None


class WhatIfAccepted(BaseModel):
    id: str


class WhatIfOut(BaseModel):
    id: str
    status: WhatIfStatus
    since: AwareIsoDatetime | None = None
    until: AwareIsoDatetime | None = None
    level: Level | None = None
    incidents: list[IncidentWhatIf] = Field(default_factory=list)
    totals: Totals | None = None
    note: str | None = None
    reason: str | None = Field(
        default=None, description="why a failed replay gave no report, and what to do"
    )
