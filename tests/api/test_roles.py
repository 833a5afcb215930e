"""Who may do what: named tokens with roles, a token bound to a person acts as them, every
change audited with the token's name; 401 before anything else, 403 for a role that may not."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from adapters.records.tables import api_tokens
from testkit.waiting import eventually
from tests.api.conftest import AUTH, TOKEN, http_client
from tests.conftest import Stack

DECLARE = {"title": "Checkout failing", "level": "B", "type": "service_outage"}


async def make_token(client: httpx.AsyncClient, **body: Any) -> str:
    response = await client.post("/api/v1/tokens", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert created["token"].startswith("tocsin_")
    return str(created["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def tokens(client: httpx.AsyncClient) -> dict[str, str]:
    return {
        "viewer": await make_token(client, name="wallboard", role="viewer"),
        "ada": await make_token(client, name="ada", role="responder", person="Ada Okafor"),
        "jo": await make_token(client, name="jo", role="lead", person="Jo Mbeki"),
        "gil": await make_token(client, name="gil", role="comms", person="Gil Ramos"),
        "bot": await make_token(client, name="chatops", role="responder", acts_for_others=True),
    }


async def test_each_role_does_what_it_may_and_is_told_what_it_may_not(
    app: FastAPI, client: httpx.AsyncClient, tokens: dict[str, str], stack: Stack
) -> None:
    async with (
        http_client(app, bearer(tokens["viewer"])) as viewer,
        http_client(app, bearer(tokens["ada"])) as ada,
        http_client(app, bearer(tokens["jo"])) as jo,
        http_client(app, bearer(tokens["gil"])) as gil,
        http_client(app, bearer(tokens["bot"])) as bot,
    ):
        assert (await viewer.get("/api/v1/incidents")).status_code == 200
        refused = await viewer.post("/api/v1/incidents", json=DECLARE)
        assert refused.status_code == 403
        assert refused.json()["detail"] == (
            "the token 'wallboard' has the role viewer, which may not respond to incidents "
            "(declare, acknowledge, update, resolve)"
        )
        assert (await gil.post("/api/v1/incidents", json=DECLARE)).status_code == 403
        assert (await client.get("/api/v1/incidents")).json()["total"] == 0

        # A token bound to a person acts as them; naming someone else is refused.
        declared = await ada.post("/api/v1/incidents", json=DECLARE)
        assert declared.status_code == 201, declared.text
        incident = declared.json()
        assert incident["declared_by"] == "Ada Okafor"
        as_ben = await ada.post(f"/api/v1/incidents/{incident['id']}/ack", json={"by": "Ben"})
        assert as_ben.status_code == 403
        assert as_ben.json()["detail"] == (
            "the token 'ada' acts as Ada Okafor; it may not act as 'Ben'"
        )
        level = await ada.post(
            f"/api/v1/incidents/{incident['id']}/level", json={"level": "A", "reason": "worse"}
        )
        assert level.status_code == 403  # a responder may not change levels
        acked = await ada.post(f"/api/v1/incidents/{incident['id']}/ack", json={})
        assert acked.status_code == 200, acked.text
        assert acked.json()["acknowledged_by"] == "Ada Okafor"
        raised = await jo.post(
            f"/api/v1/incidents/{incident['id']}/level",
            json={"level": "A", "reason": "customers cannot pay"},
        )
        assert raised.status_code == 200, raised.text
        # An integration's token names whoever acted in the tool it fronts.
        update = await bot.post(
            f"/api/v1/incidents/{incident['id']}/updates",
            json={"text": "rolled back", "by": "Ben Lindqvist"},
        )
        assert update.status_code == 200, update.text
        # Only an admin may manage tokens and subscribers.
        assert (await jo.get("/api/v1/tokens")).status_code == 403
        assert (
            await ada.post("/api/v1/subscribers", json={"email": "x@example.com"})
        ).status_code == 403

    async def recorded() -> dict[str, Any] | None:
        timeline = (await client.get(f"/api/v1/incidents/{incident['id']}/timeline")).json()
        found = {e["kind"]: e.get("actor") for e in timeline["items"]}
        # Each step is recorded by its own activity; wait for both rather than for the later.
        return found if {"acknowledged", "level_changed"} <= found.keys() else None

    actors = await eventually(recorded)
    assert actors["acknowledged"] == "Ada Okafor"
    assert actors["level_changed"] == "Jo Mbeki"
    audit = (await client.get("/api/v1/audit")).json()["items"]
    changes = [(e["token"], e["person"], e["method"], e["path"], e["status"]) for e in audit]
    assert ("ada", "Ada Okafor", "POST", f"/api/v1/incidents/{incident['id']}/ack", 403) in changes
    assert ("jo", "Jo Mbeki", "POST", f"/api/v1/incidents/{incident['id']}/level", 200) in changes
    assert ("chatops", None, "POST", f"/api/v1/incidents/{incident['id']}/updates", 200) in (
        changes
    )
    assert ("wallboard", None, "POST", "/api/v1/incidents", 403) in changes


async def test_tokens_are_kept_hashed_shown_once_and_revoked_at_once(
    app: FastAPI, client: httpx.AsyncClient, stack: Stack
) -> None:
    token = await make_token(client, name="ci", role="viewer")
    async with stack.store._engine.connect() as conn:
        rows = (await conn.execute(api_tokens.select())).all()
    assert all(token not in str(value) for row in rows for value in row)
    listed = (await client.get("/api/v1/tokens")).json()["items"]
    assert [(t["name"], t["role"], t["revoked_at"]) for t in listed] == [("ci", "viewer", None)]
    assert "token" not in listed[0]
    twice = await client.post("/api/v1/tokens", json={"name": "ci", "role": "admin"})
    assert twice.status_code == 409
    unknown_person = await client.post(
        "/api/v1/tokens", json={"name": "x", "role": "lead", "person": "Nobody"}
    )
    assert unknown_person.status_code == 422
    assert unknown_person.json()["detail"] == "person: 'Nobody' is not in the roster"

    revoked = await client.delete("/api/v1/tokens/ci")
    assert revoked.status_code == 204
    async with http_client(app, bearer(token)) as ci:

        async def refused() -> httpx.Response | None:
            answer = await ci.get("/api/v1/incidents")
            return answer if answer.status_code == 401 else None

        answer = await eventually(refused, within=10)
    # The same answer as for a token that never existed.
    assert answer.json() == {"detail": "invalid bearer token"}
    async with http_client(app, bearer("tocsin_" + "x" * 43)) as stranger:
        assert (await stranger.get("/api/v1/incidents")).json() == answer.json()


async def test_authentication_comes_before_the_body_is_read(app: FastAPI) -> None:
    async with http_client(app) as anonymous:
        answer = await anonymous.post(
            "/api/v1/incidents",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 401
        assert answer.json() == {"detail": "missing bearer token"}
        assert answer.headers["www-authenticate"] == "Bearer"
    async with http_client(app, {"Authorization": "Bearer wrong"}) as wrong:
        too_big = await wrong.post(
            "/api/v1/incidents",
            content=b"x" * (2 * 1024 * 1024),
            headers={"Content-Type": "application/json"},
        )
        assert too_big.status_code == 401


async def test_requests_are_limited_per_token(app: FastAPI, client: httpx.AsyncClient) -> None:
    app.state.config = app.state.config.__class__(
        **{**app.state.config.__dict__, "rate_limit_per_token": "3/minute"}
    )
    assert AUTH["Authorization"].endswith(TOKEN)
    answers = [(await client.get("/api/v1/incidents")).status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    limited = await client.get("/api/v1/incidents")
    assert int(limited.headers["retry-after"]) >= 1
    assert "too many requests for the token 'bootstrap'" in limited.json()["detail"]


async def test_revoking_the_bootstrap_token_says_what_it_is_and_how_to_rotate_it(
    client: httpx.AsyncClient,
) -> None:
    response = await client.delete("/api/v1/tokens/bootstrap")

    assert response.status_code == 409
    detail = response.json()["detail"]
    assert detail.startswith("bootstrap is the admin token `tocsin up` made")
    assert "TOCSIN_API_TOKEN" in detail
    assert "delete <data dir>/api-token" in detail
    assert (await client.get("/api/v1/incidents")).status_code == 200  # still works
