"""Reviews through the API: opened by the resolution, written by the owner, published into
the knowledge base, changed afterwards only by a recorded amendment; action items."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from adapters.clock import utcnow
from testkit.waiting import eventually
from tests.api.conftest import Declare
from tests.conftest import Stack


async def resolved(client: httpx.AsyncClient, declare: Declare, **overrides: Any) -> str:
    incident = await declare(**{"level": "B", **overrides})
    await client.post(f"/api/v1/incidents/{incident['id']}/ack", json={"by": "Ada Okafor"})
    done = await client.post(
        f"/api/v1/incidents/{incident['id']}/resolve",
        json={"by": "Ada Okafor", "summary": "rolled back"},
    )
    assert done.status_code == 200, done.text
    return str(incident["id"])


async def review_of(client: httpx.AsyncClient, incident_id: str) -> dict[str, Any]:
    async def opened() -> dict[str, Any] | None:
        response = await client.get(f"/api/v1/incidents/{incident_id}/review")
        return response.json() if response.status_code == 200 else None

    return await eventually(opened)


WRITTEN = {
    "summary": "Card payments failed for 40 minutes after release 4512.",
    "customer_impact": "About 30% of checkouts failed.",
    "root_cause": "A feature flag defaulted on during the deploy of release 4512.",
    "five_whys": ["Payments failed", "The new code path ran", "The flag was on"],
    "cause_category": "bad deploy",
    "contributing_factors": ["No canary for the payment service"],
    "went_well": ["Rollback took 4 minutes"],
    "went_badly": ["The page went to the wrong tier first"],
    "lessons": ["Ship flags off by default"],
}


async def test_the_owner_writes_publishes_and_amends_and_the_knowledge_base_finds_it(
    client: httpx.AsyncClient, declare: Declare, stack: Stack
) -> None:
    incident_id = await resolved(client, declare)
    review = await review_of(client, incident_id)
    assert review["status"] == "draft"
    assert review["owner"] == "Ada Okafor"
    assert review["summary"] == "rolled back"
    assert review["timeline"][0]["kind"] == "declared"

    edited = await client.patch(
        f"/api/v1/reviews/{review['id']}",
        json={**WRITTEN, "status": "in_review", "version": review["version"], "by": "Ada Okafor"},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["status"] == "in_review"
    stale = await client.patch(
        f"/api/v1/reviews/{review['id']}",
        json={"summary": "x", "version": review["version"], "by": "Ada Okafor"},
    )
    assert stale.status_code == 409
    assert "changed since version" in stale.json()["detail"]
    action = await client.post(
        f"/api/v1/reviews/{review['id']}/actions",
        json={
            "title": "Canary the payment service",
            "owner": "Ben Lindqvist",
            "due_at": (utcnow() + timedelta(days=14)).isoformat(),
            "priority": "high",
            "by": "Ada Okafor",
        },
    )
    assert action.status_code == 201, action.text

    published = await client.post(
        f"/api/v1/reviews/{review['id']}/publish", json={"by": "Ada Okafor"}
    )
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published"
    again = await client.post(f"/api/v1/reviews/{review['id']}/publish", json={"by": "Ben"})
    assert again.status_code == 409
    assert "published by Ada Okafor" in again.json()["detail"]
    edit_after = await client.patch(
        f"/api/v1/reviews/{review['id']}", json={"summary": "quietly", "by": "Ada Okafor"}
    )
    assert edit_after.status_code == 409
    assert "amendment" in edit_after.json()["detail"]

    found = (await client.get("/api/v1/reviews", params={"q": "flags defaulted deploys"})).json()
    assert [hit["id"] for hit in found["items"]] == [review["id"]]
    assert found["items"][0]["rank"] > 0

    amended = await client.post(
        f"/api/v1/reviews/{review['id']}/amendments",
        json={
            "root_cause": "A feature flag defaulted on; the config service cached it.",
            "reason": "the config cache was found later",
            "by": "Ada Okafor",
        },
    )
    assert amended.status_code == 201, amended.text
    (amendment,) = amended.json()["amendments"]
    assert amendment["changes"]["root_cause"]["before"] == WRITTEN["root_cause"]
    assert amendment["reason"] == "the config cache was found later"
    cached = (await client.get("/api/v1/reviews", params={"q": "cached"})).json()
    assert [hit["id"] for hit in cached["items"]] == [review["id"]]

    markdown = await client.get(f"/api/v1/reviews/{review['id']}.md")
    assert markdown.status_code == 200
    assert markdown.headers["content-type"].startswith("text/markdown")
    text = markdown.text
    for heading in ("## Summary", "## Root cause", "## Action items", "## Timeline"):
        assert heading in text
    assert "| Canary the payment service | Ben Lindqvist |" in text
    assert "the config cache was found later" in text
    assert "blameless" in text

    timeline = (await client.get(f"/api/v1/incidents/{incident_id}/timeline")).json()["items"]
    kinds = [e["kind"] for e in timeline]
    for kind in ("review_opened", "action_added", "review_published", "review_amended"):
        assert kind in kinds


async def test_action_items_are_listed_closed_and_dropped_with_a_reason(
    client: httpx.AsyncClient, declare: Declare
) -> None:
    review = await review_of(client, await resolved(client, declare))
    due = (utcnow() + timedelta(days=7)).isoformat()
    created = []
    for title in ("Add a canary", "Alert on flag drift"):
        response = await client.post(
            f"/api/v1/reviews/{review['id']}/actions",
            json={"title": title, "owner": "Ben Lindqvist", "due_at": due, "by": "Ada"},
        )
        created.append(response.json())

    done = await client.patch(
        f"/api/v1/actions/{created[0]['id']}", json={"status": "done", "by": "Ben Lindqvist"}
    )
    no_reason = await client.patch(
        f"/api/v1/actions/{created[1]['id']}", json={"status": "wont_do", "by": "Ben"}
    )
    dropped = await client.patch(
        f"/api/v1/actions/{created[1]['id']}",
        json={"status": "wont_do", "reason": "the flag service is retired", "by": "Ben"},
    )

    assert done.json()["status"] == "done"
    assert done.json()["closed_by"] == "Ben Lindqvist"
    assert no_reason.status_code == 422
    assert "reason" in no_reason.json()["detail"]
    assert dropped.json()["reason"] == "the flag service is retired"
    open_items = (await client.get("/api/v1/actions", params={"status": "open"})).json()
    assert open_items == {"items": []}
    every = (await client.get("/api/v1/actions")).json()["items"]
    assert {a["status"] for a in every} == {"done", "wont_do"}
    assert (await client.get("/api/v1/actions", params={"overdue": "true"})).json() == {"items": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x", "due_at": "2030-01-01T00:00:00Z"}, "owner"),
        ({"title": "x", "owner": "Ben Lindqvist", "due_at": "2020-01-01T00:00:00Z"}, "due_at"),
        ({"title": "x", "owner": "Ben Lindqvist", "due_at": "2030-01-01T00:00:00"}, "due_at"),
        ({"title": "", "owner": "Ben Lindqvist", "due_at": "2030-01-01T00:00:00Z"}, "title"),
        (
            {
                "title": "x",
                "owner": "Ben Lindqvist",
                "due_at": "2030-01-01T00:00:00Z",
                "priority": "p0",
            },
            "priority",
        ),
    ],
)
async def test_a_bad_action_item_is_a_422_naming_the_field(
    client: httpx.AsyncClient, declare: Declare, body: dict[str, Any], field: str
) -> None:
    review = await review_of(client, await resolved(client, declare))

    response = await client.post(
        f"/api/v1/reviews/{review['id']}/actions", json={**body, "by": "Ada"}
    )

    assert response.status_code == 422, response.text
    assert field in json.dumps(response.json()["detail"])
    assert (await client.get("/api/v1/actions")).json() == {"items": []}


async def test_owners_not_in_the_roster_are_refused_naming_the_people_it_has(
    client: httpx.AsyncClient, declare: Declare
) -> None:
    review = await review_of(client, await resolved(client, declare))
    due = (utcnow() + timedelta(days=7)).isoformat()
    action = {"title": "Add a canary", "owner": "Ben Lindqvist", "due_at": due, "by": "Ada"}
    added = await client.post(f"/api/v1/reviews/{review['id']}/actions", json=action)
    assert added.status_code == 201, added.text

    refused = [
        await client.post(
            f"/api/v1/reviews/{review['id']}/actions", json={**action, "owner": "Ben"}
        ),
        await client.patch(f"/api/v1/actions/{added.json()['id']}", json={"owner": "Ben"}),
        await client.patch(f"/api/v1/reviews/{review['id']}", json={"owner": "Ben"}),
    ]

    for response in refused:
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]
        assert detail.startswith("owner: 'Ben' is not in the roster; its people are Ada Okafor, ")
        assert "Ben Lindqvist" in detail
    listed = (await client.get("/api/v1/actions")).json()["items"]
    assert [a["title"] for a in listed] == ["Add a canary"]
    assert (await client.get(f"/api/v1/reviews/{review['id']}")).json()["owner"] == review["owner"]


async def test_bad_review_requests_are_4xx(client: httpx.AsyncClient, declare: Declare) -> None:
    review = await review_of(client, await resolved(client, declare))

    unknown = await client.get("/api/v1/reviews/r-20260101-nope")
    unknown_md = await client.get("/api/v1/reviews/r-20260101-nope.md")
    not_yet = await client.get(f"/api/v1/incidents/{(await declare())['id']}/review")
    empty_q = await client.get("/api/v1/reviews", params={"q": "   "})
    long_q = await client.get("/api/v1/reviews", params={"q": "x" * 201})
    unpublishable = await client.post(f"/api/v1/reviews/{review['id']}/publish", json={"by": "Ada"})
    amend_draft = await client.post(
        f"/api/v1/reviews/{review['id']}/amendments",
        json={"summary": "x", "reason": "y", "by": "Ada"},
    )
    no_reason = await client.post(
        f"/api/v1/reviews/{review['id']}/amendments", json={"summary": "x", "by": "Ada"}
    )
    unknown_action = await client.patch(
        "/api/v1/actions/a-000000000000", json={"status": "done", "by": "Ada"}
    )

    assert unknown.status_code == 404
    assert unknown_md.status_code == 404
    assert not_yet.status_code == 404
    assert "opens when the incident is resolved" in not_yet.json()["detail"]
    assert empty_q.status_code == 422
    assert long_q.status_code == 422
    assert unpublishable.status_code == 422
    assert "root_cause" in unpublishable.json()["detail"]
    assert amend_draft.status_code == 409
    assert no_reason.status_code == 422
    assert unknown_action.status_code == 404
    still = (await client.get(f"/api/v1/reviews/{review['id']}")).json()
    assert still["status"] == "draft"
    assert still["version"] == review["version"]
