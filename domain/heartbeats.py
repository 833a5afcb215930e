"""Heartbeat monitors, the dead-man's switch (ADR 0025): something that must beat at least
once per ``interval`` (Alertmanager's always-firing Watchdog, a nightly job). A beat missed
by more than ``grace`` opens an incident through the alert intake, as an alert group would;
the next beat clears it as a resolved alert does. A monitor that never beat since it was
configured alarms too, or a monitor set up wrongly would stay silent forever.

Pure data and rules: ``workflows.heartbeats`` holds one durable timer per monitor.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from domain.durations import Duration, format_duration
from domain.models import IncidentType, Level

# What the intake sees: one alert group per monitor.
RECEIVER = "tocsin-heartbeats"
ALERTNAME = "HeartbeatMissed"
MONITOR_LABEL = "heartbeat"


class Monitor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    interval: Duration
    grace: Duration = timedelta(0)
    level: Level = Level.B
    type: IncidentType = IncidentType.SERVICE_OUTAGE
    service: str | None = None

    @model_validator(mode="after")
    def _sensible(self) -> Self:
        if not timedelta(seconds=10) <= self.interval <= timedelta(days=7):
            raise ValueError("interval: must be between 10s and 7d")
        if not timedelta(0) <= self.grace <= timedelta(days=1):
            raise ValueError("grace: must be between 0s and 1d")
        return self


class Heartbeats(BaseModel):
    """``playbooks/heartbeats.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    monitors: list[Monitor] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        names = [m.name for m in self.monitors]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"monitors: {name!r} is named twice")
        return self

    def get(self, name: str) -> Monitor | None:
        return next((m for m in self.monitors if m.name == name), None)


class HeartbeatStatus(StrEnum):
    NEW = "new"  # configured, no beat yet, not yet overdue
    UP = "up"  # beat within its interval
    LATE = "late"  # past its interval, within its grace
    DOWN = "down"  # past interval and grace: an incident is open (or held by maintenance)


class BeatState(BaseModel):
    """What a monitor's workflow keeps. Its status is set by the workflow's own timers, so
    it follows the engine's clock: a beat makes it up, the end of the interval late, the
    end of the grace down."""

    configured_at: AwareDatetime
    status: HeartbeatStatus = HeartbeatStatus.NEW
    last_beat_at: AwareDatetime | None = None
    beats: int = 0
    # Missed since this instant (the alarm's start), until the next beat.
    down_since: AwareDatetime | None = None

    def next_due(self, monitor: Monitor) -> datetime:
        return (self.last_beat_at or self.configured_at) + monitor.interval

    def alarm_at(self, monitor: Monitor) -> datetime:
        return self.next_due(monitor) + monitor.grace


def alert(monitor: Monitor, state: BeatState, *, firing: bool, at: datetime) -> dict[str, Any]:
    """The monitor's alarm as an Alertmanager notification (webhook v4): graded by its
    ``level`` label, grouped by the monitor, resolved by the next beat."""
    since = state.down_since or at
    last = state.last_beat_at
    summary = (
        f"No heartbeat from {monitor.name} since {last:%Y-%m-%d %H:%M:%S} UTC"
        if last is not None and firing
        else f"No heartbeat from {monitor.name} since it was configured"
        if firing
        else f"{monitor.name} beats again"
    )
    labels = {
        "alertname": ALERTNAME,
        MONITOR_LABEL: monitor.name,
        "level": monitor.level.value,
        "type": monitor.type.value,
    }
    if monitor.service:
        labels["service"] = monitor.service
    group = f'{{}}:{{{MONITOR_LABEL}="{monitor.name}"}}'
    state_name = "firing" if firing else "resolved"
    return {
        "version": "4",
        "groupKey": group,
        "status": state_name,
        "receiver": RECEIVER,
        "groupLabels": {MONITOR_LABEL: monitor.name},
        "commonLabels": labels,
        "commonAnnotations": {"summary": summary},
        "alerts": [
            {
                "status": state_name,
                "labels": labels,
                "annotations": {
                    "summary": summary,
                    "description": f"{monitor.name} must beat every "
                    f"{format_duration(monitor.interval)} (grace "
                    f"{format_duration(monitor.grace)}).",
                },
                "startsAt": since.isoformat(),
                "endsAt": None if firing else at.isoformat(),
                "fingerprint": hashlib.sha256(group.encode()).hexdigest()[:16],
            }
        ],
    }
