"""The figures the incident JSON adds to the domain model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.schemas.incidents import IncidentOut
from domain.models import Incident, IncidentType, Level, Status

DECLARED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def incident(**changes: object) -> Incident:
    base = Incident(
        id="20261123-k7qz",
        title="Checkout is down",
        level=Level.A,
        type=IncidentType.SERVICE_OUTAGE,
        declared_at=DECLARED,
        declared_by="Alice",
        ack_deadline=DECLARED + timedelta(minutes=15),
        response_window_seconds=900,
    )
    return base.model_copy(update=changes)


def test_time_left_counts_down_to_the_deadline() -> None:
    out = IncidentOut.of(incident(), DECLARED + timedelta(minutes=10))

    assert out.time_left_seconds == 5 * 60
    assert out.time_to_ack_seconds is None


def test_time_left_is_negative_once_overdue() -> None:
    out = IncidentOut.of(incident(window_breached=True), DECLARED + timedelta(minutes=17))

    assert out.time_left_seconds == -2 * 60


def test_time_left_is_null_once_acknowledged_and_time_to_ack_is_set() -> None:
    acked = incident(
        status=Status.ACKNOWLEDGED,
        acknowledged_at=DECLARED + timedelta(minutes=4, seconds=30),
        acknowledged_by="Bob",
    )

    out = IncidentOut.of(acked, DECLARED + timedelta(hours=1))

    assert out.time_left_seconds is None
    assert out.time_to_ack_seconds == 270


def test_time_left_is_null_once_resolved() -> None:
    resolved = incident(status=Status.RESOLVED, resolved_at=DECLARED + timedelta(minutes=1))

    out = IncidentOut.of(resolved, DECLARED + timedelta(minutes=2))

    assert out.time_left_seconds is None
    assert out.model_dump(mode="json")["resolved_at"] == "2026-11-23T09:01:00Z"
