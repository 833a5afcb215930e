"""Inputs and results of the handoff process, one per workflow, activity and signal."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel


class HandoffInput(BaseModel):
    schedule: str


class NextHandoffInput(BaseModel):
    schedule: str
    after: AwareDatetime


class NextHandoffResult(BaseModel):
    """The next instant someone else takes the schedule over; None: the schedule is gone."""

    at: AwareDatetime | None = None


class AnnounceInput(BaseModel):
    schedule: str
    at: AwareDatetime


class ChangedInput(BaseModel):
    """schedules.yaml was edited, or an override made or taken back: look again."""

    why: str = ""
