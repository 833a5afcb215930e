"""The command centre's "next" line: what an unacknowledged incident's process does next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from api.console.views import next_step
from api.schemas.incidents import IncidentOut
from domain.models import Incident, IncidentType, Level, Status
from playbooks.base import DEFAULT_DIR
from playbooks.loader import load_playbooks

DECLARED = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
PLAYBOOKS = load_playbooks(DEFAULT_DIR)


def level_a(**changes: Any) -> IncidentOut:
    incident = Incident(
        id="20261204-abcd",
        title="Checkout is down",
        level=Level.A,
        type=IncidentType.SERVICE_OUTAGE,
        declared_at=DECLARED,
        declared_by="Alice",
        ack_deadline=DECLARED + timedelta(minutes=15),
        response_window_seconds=900,
    ).model_copy(update=changes)
    return IncidentOut.of(incident, DECLARED)


def at(minutes: float) -> datetime:
    return DECLARED + timedelta(minutes=minutes)


def test_each_step_is_next_until_it_fires_then_the_window() -> None:
    first = next_step(level_a(), PLAYBOOKS, at(1))
    second = next_step(level_a(), PLAYBOOKS, at(6))
    window = next_step(level_a(), PLAYBOOKS, at(11))
    assert first is not None
    assert (first.at, first.text) == (at(5), "step 1 of 2 pages lead function secondary")
    assert second is not None
    assert (second.at, second.text) == (
        at(10), "step 2 of 2 pages lead function manager, leadership primary"
    )  # fmt: skip
    assert window is not None
    assert window.at == at(15)
    assert window.text.startswith("the window ends; the breach pages lead function manager")


def test_steps_count_from_the_last_level_change() -> None:
    raised = level_a(ack_deadline=at(20 + 15))  # raised to A at +20m: a fresh window
    step = next_step(raised, PLAYBOOKS, at(21))
    assert step is not None
    assert step.at == at(25)


def test_a_breached_window_re_pages_and_an_acknowledged_one_escalates_nothing() -> None:
    breached = next_step(level_a(window_breached=True), PLAYBOOKS, at(16))
    assert breached is not None
    assert breached.at is None
    assert breached.text.endswith("every 5m until acknowledged")
    acked = level_a(acknowledged_at=at(2), acknowledged_by="Ada", status=Status.ACKNOWLEDGED)
    assert next_step(acked, PLAYBOOKS, at(3)) is None
    assert next_step(level_a(status=Status.MITIGATED), PLAYBOOKS, at(3)) is None
