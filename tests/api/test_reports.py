"""Response reports and the quarterly digest from a seeded set of incidents, against figures
worked out by hand (see each comment)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.records import RecordsStore
from domain.models import (
    Function,
    IncidentType,
    Level,
    NotificationKind,
    PagedPerson,
    Role,
    Source,
    Status,
    Tier,
)
from domain.reviews import ActionItem, KeyTimes, Review, ReviewStatus, review_id
from tests.conftest import Stack
from tests.records.builders import incident

OCT = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
NOV = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)
MIN = 60.0


def at(start: datetime, seconds: float) -> datetime:
    return start + timedelta(seconds=seconds)


LEADERSHIP = PagedPerson(
    name="Kim Osei",
    function=Function.LEADERSHIP,
    tier=Tier.PRIMARY,
    role=Role.INFORMED,
    kind=NotificationKind.NOTICE,
    at=OCT,
)

SEED = [
    # October, A: acknowledged after 10 min (window 15), resolved after 60 min.
    incident(
        "a1",
        level=Level.A,
        declared_at=OCT,
        ack_after=10 * MIN,
        ack_level=Level.A,
        status=Status.RESOLVED,
        resolved_at=at(OCT, 60 * MIN),
        paged=[LEADERSHIP],
        service="checkout",
    ),
    # October, A: breached (15 min), acknowledged after 20 min, resolved after 120 min.
    incident(
        "a2",
        level=Level.A,
        declared_at=OCT,
        ack_after=20 * MIN,
        ack_level=Level.A,
        window_breached=True,
        breached_at=at(OCT, 15 * MIN),
        breach_level=Level.A,
        status=Status.RESOLVED,
        resolved_at=at(OCT, 120 * MIN),
        service="checkout",
    ),
    # October: acknowledged at A after 5 min, then lowered to B; resolved after 30 min.
    incident(
        "x1",
        level=Level.B,
        declared_at=OCT,
        ack_after=5 * MIN,
        ack_level=Level.A,
        status=Status.RESOLVED,
        resolved_at=at(OCT, 30 * MIN),
        service="core-api",
    ),
    # October: breached at B, raised to A, never acknowledged, still open.
    incident(
        "x2",
        level=Level.A,
        declared_at=OCT,
        window_breached=True,
        breached_at=at(OCT, 30 * MIN),
        breach_level=Level.B,
        status=Status.TRIGGERED,
    ),
    # November, C: opened by alerts, resolved by them after 40 min, nobody acknowledged.
    incident(
        "c1",
        level=Level.C,
        declared_at=NOV,
        source=Source.ALERTMANAGER,
        status=Status.RESOLVED,
        resolved_at=at(NOV, 40 * MIN),
    ),
    # November, B: acknowledged after 12 min, open.
    incident("b1", level=Level.B, declared_at=NOV, ack_after=12 * MIN, ack_level=Level.B),
    # A drill: never counted unless asked for.
    incident("d1", level=Level.A, declared_at=NOV, drill=True, ack_after=MIN, ack_level=Level.A),
]


async def seed(store: RecordsStore) -> None:
    for item in SEED:
        await store.apply(item, [])


def rows(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["level"], r["month"]): r for r in report["items"]}


async def test_the_response_report_equals_the_figures_worked_out_by_hand(
    client: httpx.AsyncClient, stack: Stack
) -> None:
    await seed(stack.store)

    report = (await client.get("/api/v1/reports/response")).json()
    by = rows(report)

    assert set(by) == {("A", "2026-10"), ("B", "2026-10"), ("C", "2026-11"), ("B", "2026-11")}
    # A, Oct: count a1, a2, x2 (its level ended A) = 3; acknowledged a1, a2, x1 (at A) = 3;
    # MTTA (10 + 20 + 5) / 3 min; MTTR of resolved a1, a2 = (60 + 120) / 2 min; within the
    # window a1 and x1 out of a1, a2, x1 = 2/3; breaches a2 (x2 breached at B) = 1.
    a_oct = by["A", "2026-10"]
    assert a_oct["count"] == 3
    assert a_oct["acknowledged"] == 3
    assert a_oct["mtta_seconds"] == pytest.approx((10 + 20 + 5) / 3 * MIN)
    assert a_oct["mttr_seconds"] == pytest.approx(90 * MIN)
    assert a_oct["within_window_ratio"] == pytest.approx(2 / 3)
    assert a_oct["breaches"] == 1
    # B, Oct: count x1 = 1 (resolved after 30 min); acknowledged none at B; breaches x2 = 1,
    # unacknowledged, so judged by the window and not within it: ratio 0.
    b_oct = by["B", "2026-10"]
    assert (b_oct["count"], b_oct["acknowledged"], b_oct["breaches"]) == (1, 0, 1)
    assert b_oct["mttr_seconds"] == pytest.approx(30 * MIN)
    assert b_oct["mtta_seconds"] is None
    assert b_oct["within_window_ratio"] == 0
    # C, Nov: cleared by its alerts, counted apart; nothing acknowledged.
    c_nov = by["C", "2026-11"]
    assert (c_nov["count"], c_nov["acknowledged"], c_nov["cleared_by_alerts"]) == (1, 0, 1)
    assert c_nov["within_window_ratio"] is None
    b_nov = by["B", "2026-11"]
    assert b_nov["mtta_seconds"] == pytest.approx(12 * MIN)
    assert b_nov["mttr_seconds"] is None
    assert "declaration" in report["definitions"]["mtta_seconds"]

    drills = (await client.get("/api/v1/reports/response", params={"drill": "true"})).json()
    assert [(r["level"], r["count"]) for r in drills["items"]] == [("A", 1)]
    october = await client.get(
        "/api/v1/reports/response",
        params={"since": "2026-10-01T00:00:00Z", "until": "2026-11-01T00:00:00Z"},
    )
    assert {r["month"] for r in october.json()["items"]} == {"2026-10"}


async def test_the_quarterly_digest_equals_the_figures_worked_out_by_hand(
    client: httpx.AsyncClient, stack: Stack
) -> None:
    await seed(stack.store)
    store = stack.store
    for incident_id, cause in (("a1", "Bad deploy"), ("a2", "bad deploy"), ("x1", "capacity")):
        await store.reviews.save(
            Review(
                id=review_id(incident_id),
                incident_id=incident_id,
                title=incident_id,
                level=Level.A,
                type=IncidentType.SERVICE_OUTAGE,
                owner="Ada Okafor",
                due_at=OCT + timedelta(days=3),
                key_times=KeyTimes(declared_at=OCT, response_window_seconds=900),
                created_at=OCT,
                status=ReviewStatus.PUBLISHED,
                published_at=OCT + timedelta(days=1),
                cause_category=cause,
            )
        )
    await store.reviews.save_action(
        ActionItem(
            id="a-000000000001",
            review_id=review_id("a1"),
            incident_id="a1",
            title="Canary deploys",
            owner="Ben Lindqvist",
            due_at=OCT + timedelta(days=14),  # long past: overdue
            created_at=OCT,
            created_by="Ada Okafor",
        )
    )

    digest = (await client.get("/api/v1/reports/quarterly", params={"quarter": "2026Q4"})).json()

    # Real incidents of Q4: a1, a2, x1, x2, c1, b1 (d1 is a drill).
    assert {(i["level"], i["count"]) for i in digest["incidents"]} == {
        ("A", 3),
        ("B", 2),
        ("C", 1),
    }
    assert digest["window_breaches"] == 2  # a2, x2
    assert digest["top_root_causes"] == [
        {"cause": "bad deploy", "count": 2},
        {"cause": "capacity", "count": 1},
    ]
    assert digest["repeat_services"] == [{"service": "checkout", "count": 2}]
    assert digest["reviews_published"] == 3
    assert digest["reviews_missing"] == 1  # c1 is resolved without a published review
    assert [a["title"] for a in digest["action_items_open"]] == ["Canary deploys"]
    assert digest["action_items_overdue"] == 1
    assert digest["leadership_incidents"] == ["a1"]
    markdown = await client.get("/api/v1/reports/quarterly.md", params={"quarter": "2026q4"})
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "# Quarterly incident digest 2026Q4" in markdown.text
    assert "| A | 2026-10 | 3 | 3 |" in markdown.text
    assert "bad deploy: 2" in markdown.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-10-01T00:00:00"}, "since"),
        ({"since": "2026-11-01T00:00:00Z", "until": "2026-10-01T00:00:00Z"}, "until"),
        ({"since": "yesterday"}, "since"),
        ({"drill": "maybe"}, "drill"),
    ],
)
async def test_bad_report_queries_are_422_naming_the_field(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    response = await client.get("/api/v1/reports/response", params=params)
    assert response.status_code == 422
    assert field in str(response.json()["detail"])


async def test_a_bad_quarter_is_a_422_saying_what_a_quarter_looks_like(
    client: httpx.AsyncClient,
) -> None:
    for quarter in ("2026Q5", "Q4", "2026-10", "2026-Q4"):
        for path in ("/api/v1/reports/quarterly", "/api/v1/reports/quarterly.md"):
            response = await client.get(path, params={"quarter": quarter})
            assert response.status_code == 422, quarter
            (error,) = response.json()["detail"]
            assert error["loc"] == ["query", "quarter"]
            assert error["msg"] == f"{quarter!r} is not a quarter like 2026Q4"
