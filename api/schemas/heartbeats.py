"""Answers of the heartbeat monitors."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field

from domain.heartbeats import HeartbeatStatus


class HeartbeatOut(BaseModel):
    name: str
    status: HeartbeatStatus = Field(
        description="new (no beat yet), up, late (past its interval, within its grace) or down"
    )
    last_beat_at: AwareDatetime | None
    next_due_at: AwareDatetime | None = Field(description="the end of the current interval")
    interval_seconds: float
    grace_seconds: float
    incident_id: str | None = Field(default=None, description="the incident its alarm opened")


class HeartbeatList(BaseModel):
    items: list[HeartbeatOut]
