"""A review's key times judge the acknowledgement as the response report does: against the
deadline of the level in force when it came, a breached window never "met"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.markdown import review_markdown
from domain.models import Incident, IncidentType, Level, Status
from domain.playbook import ReviewPolicy
from domain.reports import response_rows
from domain.rules import reviews as rules

DECLARED = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)


def _lowered_after_ack(acked_after: timedelta, breached: bool) -> Incident:
    """Declared A (15 min), acknowledged, then lowered to B (30 min) and resolved."""
    return Incident(
        id="20261204-k7qz",
        title="Checkout failing",
        level=Level.B,
        type=IncidentType.SERVICE_OUTAGE,
        status=Status.RESOLVED,
        declared_at=DECLARED,
        declared_by="monitor",
        ack_deadline=DECLARED + timedelta(minutes=15),
        response_window_seconds=30 * 60,
        acknowledged_at=DECLARED + acked_after,
        acknowledged_by="Ada Okafor",
        ack_level=Level.A,
        window_breached=breached,
        breached_at=DECLARED + timedelta(minutes=15) if breached else None,
        breach_level=Level.A if breached else None,
        resolved_at=DECLARED + timedelta(minutes=50),
    )


@pytest.mark.parametrize(
    ("acked_after", "breached", "within"),
    [
        (timedelta(minutes=20), True, False),
        # Given before the deadline, applied after the breach had fired: the report's
        # "within the window" does not count it, nor may the review.
        (timedelta(minutes=14, seconds=50), True, False),
        (timedelta(minutes=10), False, True),
    ],
)
def test_key_times_judge_the_ack_at_its_level_as_the_report_does(
    acked_after: timedelta, breached: bool, within: bool
) -> None:
    incident = _lowered_after_ack(acked_after, breached)

    times = rules.key_times(incident, [])
    (row,) = [r for r in response_rows([incident], {}) if r.acknowledged]

    assert times.ack_level is Level.A
    assert times.ack_deadline == DECLARED + timedelta(minutes=15)
    assert times.acknowledged_within_window is within
    assert row.level is Level.A
    assert (row.within_window == 1) is within


def test_the_exported_review_names_the_level_and_deadline_that_judged_the_ack() -> None:
    incident = _lowered_after_ack(timedelta(minutes=20), breached=True)
    review = rules.prefill(incident, [], [], ReviewPolicy(), DECLARED + timedelta(hours=1))

    markdown = review_markdown(review, [])

    (line,) = [row for row in markdown.splitlines() if row.startswith("| Acknowledged |")]
    assert line == (
        "| Acknowledged | 2026-12-04 14:20 UTC after 20m 0s "
        "(level A, deadline 2026-12-04 14:15 UTC, missed) |"
    )
