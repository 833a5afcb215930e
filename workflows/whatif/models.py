"""Inputs of the what-if workflow and its activity."""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.whatif import WhatIfRequest


class WhatIfInput(BaseModel):
    id: str
    request: WhatIfRequest
    # The candidate playbook directory, as the worker's machine sees it.
    playbooks: str = Field(min_length=1)
