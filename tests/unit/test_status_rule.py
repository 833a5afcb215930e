"""The status page's top line, by the common status-page rule: the worst component decides,
and the whole is "major" only when every component is down."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.status_page import (
    DEGRADED,
    MAINTENANCE,
    MAJOR,
    OPERATIONAL,
    PARTIAL,
    Component,
    StatusPage,
    percent,
)


def _page(*statuses: str) -> StatusPage:
    components = [Component(f"c{n}", f"C{n}", status) for n, status in enumerate(statuses)]
    now = datetime(2026, 12, 4, tzinfo=UTC)
    return StatusPage("Acme", "http://x", now, components, [], [], [])


@pytest.mark.parametrize(
    ("statuses", "indicator", "description"),
    [
        ((OPERATIONAL, OPERATIONAL), "none", "All Systems Operational"),
        ((MAINTENANCE, OPERATIONAL), "minor", "Service Under Maintenance"),
        ((DEGRADED, OPERATIONAL), "minor", "Minor Service Outage"),
        ((PARTIAL, OPERATIONAL), "major", "Partial System Outage"),
        ((MAJOR, *[OPERATIONAL] * 4), "major", "Partial System Outage"),
        ((MAJOR, PARTIAL), "major", "Partial System Outage"),
        ((MAJOR, MAJOR), "critical", "Major System Outage"),
    ],
)
def test_the_indicator_is_the_worst_component_and_major_only_when_all_are_down(
    statuses: tuple[str, ...], indicator: str, description: str
) -> None:
    page = _page(*statuses)

    assert (page.indicator, page.description) == (indicator, description)


@pytest.mark.parametrize(
    ("share", "shown"),
    [(1.0, "100.00"), (0.99999, "99.99"), (0.999949, "99.99"), (0.57, "57.00"), (0.0, "0.00")],
)
def test_an_uptime_with_any_downtime_never_rounds_up_to_100(share: float, shown: str) -> None:
    assert percent(share) == shown
