"""The incident endpoints against the real worker on the time-skipping Temporal server."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from domain.models import EventKind, NotificationKind, Status
from testkit.waiting import eventually
from tests.api.conftest import Declare, assert_only_incident_started, declaration, recorded
from tests.conftest import Stack

REQUIRED_FIELDS = {
    "id",
    "title",
    "level",
    "type",
    "status",
    "drill",
    "declared_at",
    "ack_deadline",
    "acknowledged_at",
    "acknowledged_by",
    "window_breached",
    "resolved_at",
    "time_left_seconds",
    "time_to_ack_seconds",
}


async def test_declare_answers_201_with_the_incident_and_its_response_window(
    client: httpx.AsyncClient, stack: Stack
) -> None:
    response = await client.post(
        "/api/v1/incidents",
        json={
            "title": "Checkout is down",
            "description": "5xx on every payment",
            "level": "A",
            "type": "service_outage",
            "service": "checkout",
            "by": "Alice",
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert body.keys() >= REQUIRED_FIELDS
    assert body["title"] == "Checkout is down"
    assert body["description"] == "5xx on every payment"
    assert (body["level"], body["type"], body["service"]) == ("A", "service_outage", "checkout")
    assert body["status"] == "triggered"
    assert body["drill"] is False
    assert body["declared_by"] == "Alice"
    assert body["acknowledged_at"] is None
    assert body["acknowledged_by"] is None
    assert body["window_breached"] is False
    assert body["resolved_at"] is None
    assert body["time_to_ack_seconds"] is None
    declared_at = datetime.fromisoformat(body["declared_at"])
    deadline = datetime.fromisoformat(body["ack_deadline"])
    assert deadline - declared_at == timedelta(minutes=15)
    assert 14 * 60 < body["time_left_seconds"] <= 15 * 60
    assert response.headers["Location"] == f"/api/v1/incidents/{body['id']}"
    # The answer says who is being paged (the technical support primary in the bundled
    # roster), before the page has reached anyone.
    assert body["paging"] == [
        {"name": "Ada Okafor", "function": "technical_support", "tier": "primary"}
    ]
    # The workflow really started: the lead function was paged, the person the answer named.
    pages = await eventually(lambda: stack.notifier.of_kind(NotificationKind.PAGE, body["id"]))
    assert [p.recipient.person.name for p in pages if p.recipient] == ["Ada Okafor"]


async def test_declare_defaults_the_declarer_to_the_token_and_marks_drills(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/v1/incidents",
        json={"title": "Monthly drill", "level": "C", "type": "data_leak", "drill": True},
    )

    assert response.status_code == 201
    body = response.json()
    assert body["declared_by"] == "bootstrap"  # the admin token of `tocsin up`
    assert body["drill"] is True
    assert body["service"] is None
    assert body["response_window_seconds"] == 60 * 60


async def test_declare_with_an_unknown_service_is_422_listing_the_known_ones(
    client: httpx.AsyncClient, stack: Stack
) -> None:
    response = await client.post("/api/v1/incidents", json=declaration(service="chekout"))

    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "service"]
    assert error["msg"] == (
        "unknown service 'chekout'; the catalog's services are core-api, checkout, "
        "support-chat, support-tickets, customer-data"
    )
    await assert_only_incident_started(stack, client)


async def test_list_reads_the_records_with_filters_and_total(
    client: httpx.AsyncClient, declare: Declare, stack: Stack
) -> None:
    a = await declare(level="A")
    b = await declare(level="B", type="data_leak")
    drill = await declare(level="C", drill=True)
    ack = await client.post(f"/api/v1/incidents/{b['id']}/ack", json={"by": "Bob"})
    assert ack.status_code == 200
    for incident in (a, drill):
        await recorded(stack.store, incident["id"])
    await recorded(stack.store, b["id"], Status.ACKNOWLEDGED)

    async def ids(**params: str | list[str] | int) -> tuple[set[str], int]:
        response = await client.get("/api/v1/incidents", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        return {item["id"] for item in body["items"]}, body["total"]

    assert await ids() == ({a["id"], b["id"], drill["id"]}, 3)
    assert await ids(level="B") == ({b["id"]}, 1)
    assert await ids(status="triggered") == ({a["id"], drill["id"]}, 2)
    assert await ids(status=["acknowledged", "resolved"]) == ({b["id"]}, 1)
    assert await ids(drill="true") == ({drill["id"]}, 1)
    assert await ids(drill="false", level="C") == (set(), 0)
    assert await ids(open="true") == ({a["id"], b["id"], drill["id"]}, 3)
    assert await ids(open="false") == (set(), 0)
    assert await ids(open="true", status="acknowledged") == ({b["id"]}, 1)


async def test_list_pages_with_limit_and_offset_and_counts_every_match(
    client: httpx.AsyncClient, declare: Declare, stack: Stack
) -> None:
    declared = [await declare(title=f"incident {n}") for n in range(3)]
    for incident in declared:
        await recorded(stack.store, incident["id"])

    first = (await client.get("/api/v1/incidents", params={"limit": 2})).json()
    rest = (await client.get("/api/v1/incidents", params={"limit": 2, "offset": 2})).json()

    assert (len(first["items"]), first["total"]) == (2, 3)
    assert (len(rest["items"]), rest["total"]) == (1, 3)
    seen = {item["id"] for item in first["items"] + rest["items"]}
    assert seen == {incident["id"] for incident in declared}
    assert first["items"][0].keys() >= REQUIRED_FIELDS


async def test_get_returns_the_live_state_from_the_workflow(
    client: httpx.AsyncClient, declare: Declare
) -> None:
    incident = await declare()
    await client.post(f"/api/v1/incidents/{incident['id']}/ack", json={"by": "Bob"})

    # Straight after the ack, whether or not the worker has recorded it yet.
    response = await client.get(f"/api/v1/incidents/{incident['id']}")

    assert response.status_code == 200
    body = response.json()
    assert body.keys() >= REQUIRED_FIELDS
    assert body["status"] == "acknowledged"
    assert body["acknowledged_by"] == "Bob"
    assert body["time_left_seconds"] is None


async def test_get_returns_the_record_once_resolved(
    client: httpx.AsyncClient, declare: Declare, stack: Stack
) -> None:
    incident = await declare()
    resolved = await client.post(
        f"/api/v1/incidents/{incident['id']}/resolve",
        json={"by": "Carol", "summary": "rolled back the deploy"},
    )
    assert resolved.status_code == 200
    await recorded(stack.store, incident["id"], Status.RESOLVED)

    body = (await client.get(f"/api/v1/incidents/{incident['id']}")).json()

    assert body["status"] == "resolved"
    assert body["resolved_by"] == "Carol"
    assert body["resolution_summary"] == "rolled back the deploy"
    assert body["resolved_at"] is not None
    assert body["time_left_seconds"] is None


async def test_ack_records_who_acknowledged_and_the_time_to_acknowledge(
    client: httpx.AsyncClient, declare: Declare
) -> None:
    incident = await declare()

    response = await client.post(f"/api/v1/incidents/{incident['id']}/ack", json={"by": "Bob"})

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "acknowledged"
    assert body["acknowledged_by"] == "Bob"
    assert body["window_breached"] is False
    acknowledged_at = datetime.fromisoformat(body["acknowledged_at"])
    declared_at = datetime.fromisoformat(body["declared_at"])
    assert body["time_to_ack_seconds"] == (acknowledged_at - declared_at).total_seconds()
    assert body["time_to_ack_seconds"] >= 0
    assert body["time_left_seconds"] is None


async def test_second_ack_is_409_naming_who_acknowledged_first(
    client: httpx.AsyncClient, declare: Declare
) -> None:
    incident = await declare()
    first = await client.post(f"/api/v1/incidents/{incident['id']}/ack", json={"by": "Bob"})
    assert first.status_code == 200

    second = await client.post(f"/api/v1/incidents/{incident['id']}/ack", json={"by": "Dave"})

    assert second.status_code == 409
    assert "already acknowledged by Bob" in second.json()["detail"]
    current = (await client.get(f"/api/v1/incidents/{incident['id']}")).json()
    assert current["acknowledged_by"] == "Bob"


async def test_raising_the_level_shortens_the_response_window(
    client: httpx.AsyncClient, declare: Declare
) -> None:
    incident = await declare(level="C")
    c_deadline = datetime.fromisoformat(incident["ack_deadline"])

    response = await client.post(
        f"/api/v1/incidents/{incident['id']}/level",
        json={"level": "A", "reason": "every region is affected", "by": "Bob"},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["level"] == "A"
    assert body["response_window_seconds"] == 15 * 60
    assert datetime.fromisoformat(body["ack_deadline"]) < c_deadline
    assert body["time_left_seconds"] <= 15 * 60


async def test_changing_to_the_same_level_is_422(
    client: httpx.AsyncClient, declare: Declare
) -> None:
    incident = await declare(level="B")

    response = await client.post(
        f"/api/v1/incidents/{incident['id']}/level",
        json={"level": "B", "reason": "no change", "by": "Bob"},
    )

    assert response.status_code == 422
    assert "already level B" in response.json()["detail"]


async def test_update_mitigate_and_resolve_walk_the_lifecycle_into_the_timeline(
    client: httpx.AsyncClient, declare: Declare, stack: Stack
) -> None:
    incident = await declare()
    path = f"/api/v1/incidents/{incident['id']}"

    acked = await client.post(f"{path}/ack", json={"by": "Bob"})
    update = await client.post(f"{path}/updates", json={"text": "rollback started", "by": "Bob"})
    mitigated = await client.post(f"{path}/mitigate", json={"by": "Bob", "note": "traffic moved"})
    resolved = await client.post(f"{path}/resolve", json={"by": "Carol", "summary": "fixed"})

    assert [r.status_code for r in (acked, update, mitigated, resolved)] == [200] * 4
    assert update.json()["last_update_at"] is not None
    assert mitigated.json()["status"] == "mitigated"
    assert mitigated.json()["mitigated_at"] is not None
    assert resolved.json()["status"] == "resolved"
    await recorded(stack.store, incident["id"], Status.RESOLVED)

    lifecycle = [
        EventKind.DECLARED,
        EventKind.ACKNOWLEDGED,
        EventKind.UPDATE_POSTED,
        EventKind.MITIGATED,
        EventKind.RESOLVED,
    ]

    async def all_recorded() -> bool:
        items = (await client.get(f"{path}/timeline")).json()["items"]
        return {item["kind"] for item in items} >= set(lifecycle)

    await eventually(all_recorded)
    response = await client.get(f"{path}/timeline")
    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["kind"] for item in items if item["kind"] in lifecycle] == lifecycle
    # The incident's own events in order; its statements' (from 100000) interleave by time.
    own = [item["seq"] for item in items if item["seq"] < 100_000]
    assert own == sorted(own)
    update_event = next(i for i in items if i["kind"] == EventKind.UPDATE_POSTED)
    assert (update_event["text"], update_event["actor"]) == ("rollback started", "Bob")


async def test_timeline_of_a_just_declared_incident_is_known_even_if_empty(
    client: httpx.AsyncClient, declare: Declare
) -> None:
    incident = await declare()

    response = await client.get(f"/api/v1/incidents/{incident['id']}/timeline")

    assert response.status_code == 200
    assert isinstance(response.json()["items"], list)


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("ack", {"by": "Bob"}),
        ("level", {"level": "C", "reason": "smaller than thought", "by": "Bob"}),
        ("updates", {"text": "still fine", "by": "Bob"}),
        ("mitigate", {"by": "Bob"}),
        ("resolve", {"by": "Bob"}),
    ],
)
async def test_acting_on_a_resolved_incident_is_409(
    client: httpx.AsyncClient, declare: Declare, action: str, body: dict[str, str]
) -> None:
    incident = await declare(level="A")
    path = f"/api/v1/incidents/{incident['id']}"
    assert (await client.post(f"{path}/resolve", json={"by": "Carol"})).status_code == 200

    response = await client.post(f"{path}/{action}", json=body)

    assert response.status_code == 409
    assert "resolved" in response.json()["detail"]
    current = (await client.get(path)).json()
    assert (current["status"], current["level"], current["resolved_by"]) == (
        "resolved",
        "A",
        "Carol",
    )


async def test_mitigating_twice_is_409(client: httpx.AsyncClient, declare: Declare) -> None:
    incident = await declare()
    path = f"/api/v1/incidents/{incident['id']}/mitigate"
    assert (await client.post(path, json={"by": "Bob"})).status_code == 200

    response = await client.post(path, json={"by": "Bob"})

    assert response.status_code == 409
    assert "already mitigated" in response.json()["detail"]


UNKNOWN = "20200101-zzzz"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "", None),
        ("GET", "/timeline", None),
        ("POST", "/ack", {"by": "Bob"}),
        ("POST", "/level", {"level": "B", "reason": "r", "by": "Bob"}),
        ("POST", "/updates", {"text": "t", "by": "Bob"}),
        ("POST", "/mitigate", {"by": "Bob"}),
        ("POST", "/resolve", {"by": "Bob"}),
    ],
)
async def test_unknown_incident_is_404(
    client: httpx.AsyncClient, method: str, path: str, body: dict[str, str] | None
) -> None:
    response = await client.request(method, f"/api/v1/incidents/{UNKNOWN}{path}", json=body)

    assert response.status_code == 404
    assert response.json() == {"detail": f"incident {UNKNOWN} not found"}
