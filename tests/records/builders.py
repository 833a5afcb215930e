"""Incidents and timeline events for records tests, with only the interesting fields given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from domain.models import EventKind, Incident, IncidentType, Level, TimelineEvent

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

WINDOWS = {Level.A: 900.0, Level.B: 1800.0, Level.C: 3600.0}


def incident(
    incident_id: str,
    *,
    level: Level = Level.A,
    type: IncidentType = IncidentType.SERVICE_OUTAGE,
    declared_at: datetime = T0,
    ack_after: float | None = None,
    **fields: Any,
) -> Incident:
    """An incident declared at ``declared_at``, acknowledged ``ack_after`` seconds later."""
    window = WINDOWS[level]
    values: dict[str, Any] = {
        "id": incident_id,
        "title": f"incident {incident_id}",
        "level": level,
        "type": type,
        "declared_at": declared_at,
        "declared_by": "alertmanager",
        "ack_deadline": declared_at + timedelta(seconds=window),
        "response_window_seconds": window,
        "version": 1,
    }
    if ack_after is not None:
        values["acknowledged_at"] = declared_at + timedelta(seconds=ack_after)
        values["acknowledged_by"] = "ana"
        values.setdefault("status", "acknowledged")
    values.update(fields)
    return Incident.model_validate(values)


def event(incident_id: str, seq: int, *, at: datetime | None = None) -> TimelineEvent:
    return TimelineEvent(
        incident_id=incident_id,
        seq=seq,
        at=at or T0 + timedelta(seconds=seq),
        kind=EventKind.UPDATE_POSTED,
        actor="ana",
        text=f"update {seq}",
        data={"seq": seq, "tags": ["db", "eu-west"]},
    )
