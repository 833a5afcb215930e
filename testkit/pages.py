"""A page as an incident's activity hands it over: for tests of bundling and delivery."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.models import (
    EventKind,
    Incident,
    IncidentType,
    Level,
    NotificationKind,
    Recipient,
    TimelineEvent,
)
from domain.notify import Notification


def a_page(n: int, recipient: Recipient, at: datetime) -> Notification:
    """The lead's page of the n-th level-B incident declared at ``at``; each n has its own
    incident and key."""
    incident = Incident(
        id=f"{at:%Y%m%d}-{n:04d}",
        title=f"Service {n} down",
        level=Level.B,
        type=IncidentType.SERVICE_OUTAGE,
        declared_at=at,
        declared_by="Alertmanager",
        ack_deadline=at + timedelta(minutes=30),
        response_window_seconds=1800,
    )
    event = TimelineEvent(incident_id=incident.id, seq=2, at=at, kind=EventKind.PAGED, text="paged")
    return Notification(
        key=f"{incident.id}/2/page/{n}",
        kind=NotificationKind.PAGE,
        incident=incident,
        event=event,
        recipient=recipient,
        text="page",
    )
