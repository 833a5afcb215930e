"""The public status page: what customers see in ``/status``, ``/status.json`` and the Atom
feed is exactly what was published; nothing from a draft, an internal incident or a drill."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import feedparser  # type: ignore[import-untyped]
import httpx
import jsonschema
import pytest

from adapters.clock import utcnow
from testkit.mail import Received
from testkit.waiting import eventually
from tests.api.messaging import Messaging, declare, first_draft

SCHEMA = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "status-summary.schema.json").read_text()
)


async def publish(m: Messaging, incident_id: str, body: str) -> dict[str, Any]:
    draft = await first_draft(m, incident_id)
    response = await m.api.post(
        f"/api/v1/messages/{draft['id']}/approve", json={"body": body, "by": "Gil Ramos"}
    )
    assert response.status_code == 200, response.text

    async def on_the_page() -> dict[str, Any] | None:
        items = (await m.api.get(f"/api/v1/incidents/{incident_id}/messages")).json()["items"]
        (message,) = [i for i in items if i["id"] == draft["id"]]
        done = {d["channel"] for d in message["deliveries"] if d["status"] == "delivered"}
        return message if done & {"status_page", "drill_preview"} else None

    published: dict[str, Any] = await eventually(on_the_page)
    return published


def check_summary(summary: dict[str, Any]) -> None:
    jsonschema.validate(summary, SCHEMA, format_checker=jsonschema.FormatChecker())


async def test_only_published_statements_of_real_incidents_appear(messaging: Messaging) -> None:
    m = messaging
    await m.api.post("/api/v1/subscribers", json={"email": "ops@example.com", "by": "Gil"})
    real = await declare(m, title="Checkout failing")
    drill = await declare(m, title="DRILL payments exercise", drill=True)
    internal = await declare(m, title="Build farm slow", level="C", service="core-api")
    waiting = await declare(m, title="Search is slow", level="B", service="support-chat")
    await publish(m, real["id"], "Card payments are failing; we are on it.")
    await publish(m, drill["id"], "Drill statement, never public.")
    await first_draft(m, waiting["id"])  # drafted, not approved

    page = await m.public.get("/status")
    summary = (await m.public.get("/status.json")).json()
    feed = feedparser.parse((await m.public.get("/status/feed.atom")).text)

    assert page.status_code == 200
    assert "Card payments are failing; we are on it." in page.text
    # One component of five down: a partial outage of the whole, not a major one.
    assert "Partial System Outage" in page.text
    assert "Major System Outage" not in page.text
    check_summary(summary)
    assert summary["status"] == {"indicator": "major", "description": "Partial System Outage"}
    # Today's bar is red: the uptime beside it is not 100.00%, however short the outage.
    component = '<span class="name">Checkout and payments</span>'
    checkout = page.text.split(component, 1)[1].split("</li>", 1)[0]
    today = checkout.rsplit("<rect", 1)[1]
    assert "d-major_outage" in today
    assert "100.00%" not in today
    assert "100.00% uptime" not in checkout
    assert "99.99% uptime" in checkout
    assert [i["id"] for i in summary["incidents"]] == [real["id"]]
    (shown,) = summary["incidents"]
    assert shown["name"] == "Checkout failing"
    assert shown["impact"] == "critical"
    assert [u["body"] for u in shown["incident_updates"]] == [
        "Card payments are failing; we are on it."
    ]
    components = {c["id"]: c for c in summary["components"]}
    assert components["checkout"] == {
        "id": "checkout",
        "name": "Checkout and payments",
        "status": "major_outage",
    }
    assert components["support-chat"]["status"] == "operational"  # its draft is not public
    assert "ci" not in components  # internal services are not on the page
    assert not feed.bozo, feed.bozo_exception
    assert [e.title for e in feed.entries] == ["Investigating: Checkout failing"]
    assert feed.entries[0].content[0].value == "Card payments are failing; we are on it."
    everything = page.text + json.dumps(summary) + str(feed)
    for hidden in (drill, internal, waiting):
        assert hidden["id"] not in everything
        assert hidden["title"] not in everything
    assert "Drill statement" not in everything

    # The drill reached no subscriber either, only its preview.
    await eventually(lambda: m.inbox.to("ops@example.com") or None)
    assert all("DRILL" not in r.subject for r in m.inbox.received)
    drill_messages = (await m.api.get(f"/api/v1/incidents/{drill['id']}/messages")).json()
    assert {d["channel"] for d in drill_messages["items"][0]["deliveries"]} == {"drill_preview"}
    assert m.hooks.endpoints["ok"].calls == 0


async def test_pages_are_cached_briefly_and_revalidated(messaging: Messaging) -> None:
    m = messaging
    first = await m.public.get("/status.json")
    assert first.headers["cache-control"].startswith("public, max-age=30")
    assert first.headers["access-control-allow-origin"] == "*"
    unchanged = await m.public.get("/status.json", headers={"If-None-Match": first.headers["etag"]})
    assert unchanged.status_code == 304

    incident = await declare(m)
    await publish(m, incident["id"], "Checkout is failing.")

    async def changed_page() -> httpx.Response | None:
        answer = await m.public.get(
            "/status.json", headers={"If-None-Match": first.headers["etag"]}
        )
        return answer if answer.status_code == 200 else None

    changed = await eventually(changed_page)
    assert changed.json()["incidents"][0]["id"] == incident["id"]
    assert changed.headers["etag"] != first.headers["etag"]
    for path in ("/status", "/status/feed.atom"):
        response = await m.public.get(path)
        assert response.headers["etag"]
        assert "max-age=30" in response.headers["cache-control"]


async def test_updates_show_newest_first_and_a_resolved_incident_moves_to_history(
    messaging: Messaging,
) -> None:
    m = messaging
    incident = await declare(m, level="B")
    first = await publish(m, incident["id"], "Checkout is slow for some customers.")
    correction = await m.api.post(
        f"/api/v1/messages/{first['id']}/correct",
        json={"body": "Checkout is slow for card payments only.", "by": "Gil Ramos"},
    )
    assert correction.status_code == 200, correction.text
    draft_correction = await m.api.post(
        f"/api/v1/messages/{first['id']}/correct", json={"body": "again", "by": "Gil Ramos"}
    )
    assert draft_correction.status_code == 409  # the original is superseded now

    async def corrected() -> list[str] | None:
        (shown,) = (await m.public.get("/status.json")).json()["incidents"]  # never gone
        bodies = [u["body"] for u in shown["incident_updates"]]
        return bodies if "Checkout is slow for some customers." not in bodies else None

    assert await eventually(corrected) == ["Checkout is slow for card payments only."]
    assert "Correction" in (await m.public.get("/status")).text

    resolved = await m.api.post(
        f"/api/v1/incidents/{incident['id']}/resolve", json={"by": "Ada", "summary": "fixed"}
    )
    assert resolved.status_code == 200, resolved.text

    async def resolved_draft() -> dict[str, Any] | None:
        items = (await m.api.get(f"/api/v1/incidents/{incident['id']}/messages")).json()["items"]
        found = [i for i in items if i["stage"] == "resolved" and i["status"] == "draft"]
        return found[0] if found else None

    draft = await eventually(resolved_draft)
    await m.api.post(
        f"/api/v1/messages/{draft['id']}/approve",
        json={"body": "Checkout is back to normal.", "by": "Gil Ramos"},
    )

    async def in_history() -> str | None:
        page = (await m.public.get("/status")).text
        return page if "Past incidents" in page and "back to normal" in page else None

    page = await eventually(in_history)
    summary = (await m.public.get("/status.json")).json()
    check_summary(summary)
    assert summary["incidents"] == []
    assert summary["status"]["indicator"] == "none"
    assert page.index("Checkout is back to normal.") < page.index("card payments only.")
    entries = feedparser.parse((await m.public.get("/status/feed.atom")).text).entries
    assert [e.title.split(":")[0] for e in entries] == ["Resolved", "Investigating"]


async def test_the_comms_lead_overrides_a_component(messaging: Messaging) -> None:
    m = messaging
    set_ = await m.api.put(
        "/api/v1/components/support-chat/override",
        json={"status": "degraded_performance", "reason": "vendor incident", "by": "Gil"},
    )
    assert set_.status_code == 200, set_.text
    assert set_.json()["override"]["reason"] == "vendor incident"
    summary = (await m.public.get("/status.json")).json()
    assert {c["id"]: c["status"] for c in summary["components"]}["support-chat"] == (
        "degraded_performance"
    )
    assert summary["status"]["indicator"] == "minor"

    unknown = await m.api.put(
        "/api/v1/components/nope/override",
        json={"status": "major_outage", "reason": "x", "by": "Gil"},
    )
    assert unknown.status_code == 404
    bad = await m.api.put(
        "/api/v1/components/checkout/override",
        json={"status": "on_fire", "reason": "x", "by": "Gil"},
    )
    assert bad.status_code == 422
    assert "status" in json.dumps(bad.json()["detail"])

    cleared = await m.api.delete("/api/v1/components/support-chat/override")
    assert cleared.json()["status"] == "operational"
    assert cleared.json()["override"] is None


async def test_maintenance_is_announced_shown_and_announced_again_when_it_ends(
    messaging: Messaging,
) -> None:
    m = messaging
    await m.api.post("/api/v1/subscribers", json={"email": "ops@example.com", "by": "Gil"})
    starts = utcnow() + timedelta(hours=1)
    created = await m.api.post(
        "/api/v1/maintenances",
        json={
            "title": "Database upgrade",
            "body": "Checkout may be slow for a few minutes.",
            "components": ["checkout"],
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(minutes=30)).isoformat(),
            "by": "Gil Ramos",
        },
    )
    assert created.status_code == 201, created.text
    maintenance = created.json()

    def mails(word: str) -> list[Received]:
        return [r for r in m.inbox.to("ops@example.com") if r.subject.startswith(word)]

    (announced,) = await eventually(lambda: mails("Scheduled maintenance") or None)
    assert "Database upgrade" in announced.subject
    assert "Checkout may be slow" in announced.text
    assert "/status/unsubscribe?token=" in announced.text
    summary = (await m.public.get("/status.json")).json()
    check_summary(summary)
    assert [s["name"] for s in summary["scheduled_maintenances"]] == ["Database upgrade"]

    await m.stack.env.sleep(timedelta(hours=1, minutes=1))

    async def in_progress() -> dict[str, Any] | None:
        found = (await m.api.get(f"/api/v1/maintenances/{maintenance['id']}")).json()
        return found if found["status"] == "in_progress" else None

    await eventually(in_progress)
    summary = (await m.public.get("/status.json")).json()
    statuses = {c["id"]: c["status"] for c in summary["components"]}
    assert statuses["checkout"] == "under_maintenance"
    assert summary["status"]["description"] == "Service Under Maintenance"

    await m.stack.env.sleep(timedelta(minutes=30))

    (done,) = await eventually(lambda: mails("Maintenance completed") or None)
    assert "Database upgrade" in done.subject
    summary = (await m.public.get("/status.json")).json()
    assert summary["scheduled_maintenances"] == []
    again = await m.api.post(f"/api/v1/maintenances/{maintenance['id']}/cancel", json={"by": "Gil"})
    assert again.status_code == 409


async def test_a_cancelled_maintenance_is_announced_and_leaves_the_page(
    messaging: Messaging,
) -> None:
    m = messaging
    await m.api.post("/api/v1/subscribers", json={"email": "ops@example.com", "by": "Gil"})
    starts = utcnow() + timedelta(days=2)
    created = (
        await m.api.post(
            "/api/v1/maintenances",
            json={
                "title": "Network work",
                "body": "Brief interruptions.",
                "components": ["core-api"],
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=1)).isoformat(),
                "by": "Gil",
            },
        )
    ).json()

    cancelled = await m.api.post(f"/api/v1/maintenances/{created['id']}/cancel", json={"by": "Gil"})

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    await eventually(
        lambda: [r for r in m.inbox.to("ops@example.com") if "cancelled" in r.subject] or None
    )
    assert (await m.public.get("/status.json")).json()["scheduled_maintenances"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x", "body": "y", "components": ["nope"]}, "components"),
        ({"title": "x", "body": "y", "components": []}, "components"),
        ({"title": "", "body": "y", "components": ["checkout"]}, "title"),
    ],
)
async def test_bad_maintenance_is_a_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    starts = utcnow() + timedelta(hours=1)
    response = await client.post(
        "/api/v1/maintenances",
        json={
            **body,
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=1)).isoformat(),
            "by": "Gil",
        },
    )
    assert response.status_code == 422
    assert field in json.dumps(response.json()["detail"])
    assert (await client.get("/api/v1/maintenances")).json() == {"items": []}


async def test_maintenance_ending_before_it_starts_is_refused(client: httpx.AsyncClient) -> None:
    starts = utcnow() + timedelta(hours=1)
    response = await client.post(
        "/api/v1/maintenances",
        json={
            "title": "x",
            "body": "y",
            "components": ["checkout"],
            "starts_at": starts.isoformat(),
            "ends_at": (starts - timedelta(minutes=1)).isoformat(),
            "by": "Gil",
        },
    )
    assert response.status_code == 422
    assert "ends_at must be after starts_at" in json.dumps(response.json()["detail"])
