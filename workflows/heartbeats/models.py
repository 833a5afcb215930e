"""Inputs and results of the heartbeat workflow and its activity (new fields need defaults)."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel

from domain.heartbeats import BeatState, Monitor


class HeartbeatInput(BaseModel):
    monitor: Monitor
    resume: BeatState | None = None


class BeatIn(BaseModel):
    """A beat, with the monitor as heartbeats.yaml says now; ``at`` is when the API took it
    (the workflow stamps the beat with its own clock, which its timers run on)."""

    at: AwareDatetime
    monitor: Monitor


class AlarmInput(BaseModel):
    monitor: Monitor
    state: BeatState
    firing: bool
    at: AwareDatetime


class AlarmResult(BaseModel):
    incident_id: str | None = None
    # A maintenance window over the monitor's service holds the alarm until it ends.
    quiet_until: AwareDatetime | None = None


class HeartbeatView(BaseModel):
    """What the API shows of a monitor (its status is computed at the time of asking)."""

    monitor: Monitor
    state: BeatState
    incident_id: str | None = None
