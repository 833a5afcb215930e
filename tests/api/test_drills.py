"""Drills through the HTTP API: started, refused while running, classified, scored by the lead,
reported; bad input is a 4xx naming the field. A drill incident reaches no customer: not the
status page, not a subscriber, not a key account, and no response report."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from testkit.waiting import eventually
from tests.api.messaging import Messaging, first_draft, subscribe_webhook
from tests.conftest import Stack


async def start(client: httpx.AsyncClient, scenario: str) -> dict[str, Any]:
    response = await client.post("/api/v1/drills", json={"scenario": scenario, "by": "Jo Mbeki"})
    assert response.status_code == 201, response.text
    started: dict[str, Any] = response.json()
    return started


async def incidents_of(client: httpx.AsyncClient, run_id: str, count: int) -> list[str]:
    async def injected() -> list[str] | None:
        found: list[str] = (await client.get(f"/api/v1/drills/{run_id}")).json()["incidents"]
        return found if len(found) >= count else None

    return await eventually(injected)


async def test_unknown_scenario_is_a_404_naming_the_known_ones(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/drills", json={"scenario": "fire", "by": "Jo"})

    assert response.status_code == 404
    assert response.json()["detail"] == (
        "no drill scenario 'fire'; known scenarios: comprehensive, integrated, routine"
    )
    assert (await client.get("/api/v1/drills")).json() == {"items": []}


async def test_scenarios_are_listed_with_their_calendars(client: httpx.AsyncClient) -> None:
    listed = (await client.get("/api/v1/drills/scenarios")).json()["items"]

    assert {s["name"]: (s["kind"], s["schedule"]) for s in listed} == {
        "comprehensive": ("comprehensive", "0 9 1 3 * (UTC)"),
        "integrated": ("integrated", "0 10 15 1,4,7,10 * (UTC)"),
        "routine": ("routine", "0 10 1 * * (UTC)"),
    }


async def test_a_classification_is_on_the_incidents_timeline_with_who_and_what(
    client: httpx.AsyncClient, stack: Stack
) -> None:
    run = await start(client, "routine")
    (incident_id,) = await incidents_of(client, run["id"], 1)

    for by, level in (("Ada Okafor", "B"), ("Ben Lindqvist", "A")):
        classified = await client.post(
            f"/api/v1/incidents/{incident_id}/classify",
            json={"level": level, "type": "service_outage", "by": by},
        )
        assert classified.status_code == 201, classified.text

    timeline = (await client.get(f"/api/v1/incidents/{incident_id}/timeline")).json()["items"]
    lines = [e for e in timeline if e["kind"] == "classified"]
    assert [(e["actor"], e["text"]) for e in lines] == [
        ("Ada Okafor", "Ada Okafor classified it as level B, service outage (drill triage)"),
        ("Ben Lindqvist", "Ben Lindqvist classified it as level A, service outage (drill triage)"),
    ]
    assert lines[0]["data"] == {"level": "B", "type": "service_outage"}


async def test_a_drill_runs_is_classified_scored_and_reported(
    client: httpx.AsyncClient, stack: Stack
) -> None:
    run = await start(client, "routine")
    assert run["status"] == "running"
    assert run["passed"] is None
    again = await client.post("/api/v1/drills", json={"scenario": "routine", "by": "Kai"})
    assert again.status_code == 409
    assert again.json()["detail"] == "a routine drill is already running; one at a time"

    (incident_id,) = await incidents_of(client, run["id"], 1)
    classified = await client.post(
        f"/api/v1/incidents/{incident_id}/classify",
        json={"level": "B", "type": "service_outage", "by": "Ada Okafor"},
    )
    assert classified.status_code == 201, classified.text
    assert classified.json()["level"] == "B"
    await stack.env.sleep(timedelta(minutes=5))
    ack = await client.post(f"/api/v1/incidents/{incident_id}/ack", json={"by": "Ada Okafor"})
    assert ack.status_code == 200, ack.text
    await stack.env.sleep(timedelta(minutes=20))
    resolved = await client.post(
        f"/api/v1/incidents/{incident_id}/resolve", json={"by": "Ada Okafor", "summary": "ok"}
    )
    assert resolved.status_code == 200, resolved.text

    async def finished() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(f"/api/v1/drills/{run['id']}")).json()
        return body if body["status"] == "finished" else None

    done = await eventually(finished)
    assert done["passed"] is True
    assert [(s["target"], s["met"]) for s in done["scores"]] == [
        ("classification_accuracy", True),
        ("step_1_acknowledged", True),
        ("recovery", True),
    ]
    markdown = await client.get(f"/api/v1/drills/{run['id']}.md")
    assert markdown.status_code == 200
    assert markdown.headers["content-type"].startswith("text/markdown")
    text = markdown.text
    assert text.startswith(f"# DRILL report: routine (routine)\n\n- **Run:** {run['id']}")
    assert "- **Result:** passed — 3 of 3 targets met" in text
    assert "| classification accuracy | ≥ 95% of triage right | 100% | yes |" in text
    assert "| Ada Okafor | 1 | 1 | 100% |" in text
    listed = (await client.get("/api/v1/drills", params={"scenario": "routine"})).json()
    assert [d["id"] for d in listed["items"]] == [run["id"]]


async def test_bad_drill_input_is_a_4xx_naming_the_field_and_changes_nothing(
    client: httpx.AsyncClient, stack: Stack, declare: Any
) -> None:
    run = await start(client, "integrated")
    (incident_id,) = await incidents_of(client, run["id"], 1)

    too_high = await client.put(
        f"/api/v1/drills/{run['id']}/scores",
        json={"collaboration": 11, "reputation_recovery": 0.9, "by": "Jo Mbeki"},
    )
    assert too_high.status_code == 422
    assert too_high.json()["detail"][0]["loc"] == ["body", "collaboration"]
    negative = await client.put(
        f"/api/v1/drills/{run['id']}/scores",
        json={"collaboration": 9, "reputation_recovery": -0.1, "by": "Jo Mbeki"},
    )
    assert negative.status_code == 422
    assert negative.json()["detail"][0]["loc"] == ["body", "reputation_recovery"]
    assert (await client.get(f"/api/v1/drills/{run['id']}")).json()["collaboration"] is None

    wrong_level = await client.post(
        f"/api/v1/incidents/{incident_id}/classify",
        json={"level": "D", "type": "service_outage", "by": "Gil Ramos"},
    )
    assert wrong_level.status_code == 422
    assert wrong_level.json()["detail"][0]["loc"] == ["body", "level"]
    real = await declare(title="A real outage")
    not_a_drill = await client.post(
        f"/api/v1/incidents/{real['id']}/classify",
        json={"level": "B", "type": "service_outage", "by": "Gil Ramos"},
    )
    assert not_a_drill.status_code == 409
    assert not_a_drill.json()["detail"] == (
        f"{real['id']} is not a drill incident: classifications score drills; change a real "
        f"incident's level with `tocsin level {real['id']} B --reason ...` "
        f"(POST /api/v1/incidents/{real['id']}/level)"
    )
    unknown = await client.post(
        "/api/v1/incidents/20261201-nope/classify",
        json={"level": "B", "type": "service_outage", "by": "Gil Ramos"},
    )
    assert unknown.status_code == 404
    assert await stack.store.drills.classifications([incident_id, real["id"]]) == []
    no_run = await client.get("/api/v1/drills/routine-20260101-000000")
    assert no_run.status_code == 404
    assert no_run.json()["detail"] == "no drill run routine-20260101-000000"
    bad_cron = await client.put(
        "/api/v1/drills/schedules/routine", json={"cron": "every monday", "by": "Jo"}
    )
    assert bad_cron.status_code == 422
    assert bad_cron.json()["detail"][0]["loc"] == ["body", "cron"]
    bad_zone = await client.put(
        "/api/v1/drills/schedules/routine", json={"timezone": "Mars/Olympus", "by": "Jo"}
    )
    assert bad_zone.status_code == 422
    assert "is not an IANA time zone" in bad_zone.json()["detail"][0]["msg"]


async def test_a_drill_incident_reaches_no_customer_and_no_report(messaging: Messaging) -> None:
    m = messaging
    assert (
        await m.api.post("/api/v1/subscribers", json={"email": "ops@example.com", "by": "Gil"})
    ).status_code == 201
    await subscribe_webhook(m, "ok")

    run = await start(m.api, "integrated")
    (crisis,) = await incidents_of(m.api, run["id"], 1)
    draft = await first_draft(m, crisis)
    assert draft["body"].startswith("DRILL")
    approved = await m.api.post(f"/api/v1/messages/{draft['id']}/approve", json={"by": "Gil Ramos"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "published"

    async def previewed() -> list[dict[str, Any]] | None:
        listed = (await m.api.get(f"/api/v1/incidents/{crisis}/messages")).json()["items"]
        found: list[dict[str, Any]] = [d for item in listed for d in item["deliveries"]]
        return found or None

    deliveries = await eventually(previewed)
    assert {d["channel"] for d in deliveries} == {"drill_preview"}
    # Nothing public: the status page, its feed, the subscribers, the key accounts.
    summary = (await m.public.get("/status.json")).json()
    assert summary["incidents"] == []
    assert "marketing" not in (await m.public.get("/status")).text.lower()
    feed = (await m.public.get("/status/feed.atom")).text
    assert "broken checkout" not in feed
    assert [r for r in m.inbox.received if "checkout" in r.subject.lower()] == []
    assert m.hooks.endpoints["ok"].calls == 0
    # Reports count real incidents unless drills are asked for.
    real = (await m.api.get("/api/v1/reports/response")).json()
    assert real["items"] == []
    drills = (await m.api.get("/api/v1/reports/response", params={"drill": "true"})).json()
    assert [(r["level"], r["count"]) for r in drills["items"]] == [("A", 1)]
    metrics = (await m.api.get("/metrics")).text
    assert 'tocsin_incidents_open{drill="true",level="A"} 1.0' in metrics
    assert 'tocsin_incidents_open{drill="false",level="A"} 0.0' in metrics
