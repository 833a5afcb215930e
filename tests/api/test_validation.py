"""Bad input is a 422 that names the field, and starts or changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import Declare, assert_only_incident_started, declaration
from tests.conftest import Stack


def locations(response: httpx.Response) -> list[list[Any]]:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list)
    return [error["loc"] for error in detail]


def without(field: str) -> dict[str, Any]:
    body = declaration()
    del body[field]
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (without("title"), "title"),
        (declaration(title=""), "title"),
        (declaration(title="   "), "title"),
        (declaration(title="x" * 201), "title"),
        (declaration(title=42), "title"),
        (without("level"), "level"),
        (declaration(level="D"), "level"),
        (declaration(level="a"), "level"),
        (without("type"), "type"),
        (declaration(type="outage"), "type"),
        (declaration(drill="maybe"), "drill"),
        # Found by schemathesis in `make soak`: lax validation read 0 as False.
        (declaration(drill=0), "drill"),
        (declaration(drill="yes"), "drill"),
        (declaration(by=""), "by"),
        (declaration(service="s" * 201), "service"),
        (declaration(description="d" * 10_001), "description"),
        (declaration(levle="A"), "levle"),
    ],
)
async def test_bad_declaration_is_422_naming_the_field_and_starts_nothing(
    client: httpx.AsyncClient, stack: Stack, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/v1/incidents", json=body)

    assert ["body", field] in locations(response)
    await assert_only_incident_started(stack, client)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"title": "Checkout is down", "level": "A",', "application/json"),
        (b"not json at all", "application/json"),
        (b"\xff\xfe\xfa", "application/json"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
        (b"", "application/json"),
        (b'["Checkout is down", "A"]', "application/json"),
        (b"null", "application/json"),
        (b"title=Checkout", "application/x-www-form-urlencoded"),
    ],
    ids=[
        "truncated",
        "not-json",
        "not-utf8",
        "nested-too-deep",
        "empty",
        "array",
        "null",
        "form",
    ],
)
async def test_malformed_body_is_422_and_starts_nothing(
    client: httpx.AsyncClient, stack: Stack, content: bytes, content_type: str
) -> None:
    response = await client.post(
        "/api/v1/incidents", content=content, headers={"Content-Type": content_type}
    )

    assert all(loc[0] == "body" for loc in locations(response))
    await assert_only_incident_started(stack, client)


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("ack", {"by": 7}, "by"),
        ("ack", {"by": ""}, "by"),
        ("ack", {"by": "Bob", "as": "Dave"}, "as"),
        ("level", {"level": "Z", "reason": "r", "by": "Bob"}, "level"),
        ("level", {"level": "C", "by": "Bob"}, "reason"),
        ("level", {"level": "C", "reason": " ", "by": "Bob"}, "reason"),
        ("updates", {"text": "", "by": "Bob"}, "text"),
        ("updates", {"by": "Bob"}, "text"),
        ("mitigate", {"note": 5, "by": "Bob"}, "note"),
        ("resolve", {"by": "Bob", "summary": 3}, "summary"),
    ],
)
async def test_bad_action_body_is_422_naming_the_field_and_changes_nothing(
    client: httpx.AsyncClient, declare: Declare, action: str, body: dict[str, Any], field: str
) -> None:
    incident = await declare(level="B")
    path = f"/api/v1/incidents/{incident['id']}"

    response = await client.post(f"{path}/{action}", json=body)

    assert ["body", field] in locations(response)
    current = (await client.get(path)).json()
    assert (current["status"], current["level"], current["acknowledged_at"]) == (
        "triggered",
        "B",
        None,
    )
    assert current["last_update_at"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"status": "sleeping"}, "status"),
        ({"level": "D"}, "level"),
        ({"drill": "perhaps"}, "drill"),
        ({"open": "perhaps"}, "open"),
    ],
)
async def test_bad_list_filter_is_422_naming_the_parameter(
    client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    response = await client.get("/api/v1/incidents", params=params)

    assert locations(response)[0][:2] == ["query", field]


async def test_list_limit_of_500_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/incidents", params={"limit": 500})

    assert response.status_code == 200
    assert response.json() == {"items": [], "total": 0}


@pytest.mark.parametrize("incident_id", ["bad id", "x" * 101, "semi;colon", "%C3%A9t%C3%A9"])
async def test_malformed_incident_id_is_422(client: httpx.AsyncClient, incident_id: str) -> None:
    response = await client.get(f"/api/v1/incidents/{incident_id}")

    assert locations(response) == [["path", "incident_id"]]


async def test_validation_errors_do_not_echo_the_input(client: httpx.AsyncClient) -> None:
    secret_looking = "hunter2-do-not-echo"
    response = await client.post("/api/v1/incidents", json=declaration(level=secret_looking))

    assert response.status_code == 422
    assert secret_looking not in response.text
    error = response.json()["detail"][0]
    assert set(error) == {"loc", "msg", "type"}
    assert error["loc"] == ["body", "level"]
