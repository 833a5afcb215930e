"""Inputs of the drill workflow and its activities.

One model per workflow, update and activity, so fields can be added later without breaking
running workflows (a new field needs a default).
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel

from domain.drills import DrillRun, Scenario, Step
from domain.models import (
    Incident,
)


class DrillInput(BaseModel):
    run: DrillRun
    scenario: Scenario
    # Started by a Temporal Schedule: the run's id and start come from the workflow itself.
    scheduled: bool = False


class InjectInput(BaseModel):
    run_id: str
    index: int
    step: Step
    scenario: str


class DrillIncidentChanged(BaseModel):
    """A drill incident changed (acknowledged, resolved …): its drill may be over."""

    incident: Incident


class FinishInput(BaseModel):
    run_id: str
    scenario: Scenario
    at: AwareDatetime
