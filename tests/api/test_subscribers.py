"""Subscribers managed through the API: validated addresses and URLs, webhook URLs to private
networks refused (SSRF), a webhook's signing secret shown once."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"webhook_url": "http://127.0.0.1:9000/hook"}, "webhook_url", "loopback"),
        ({"webhook_url": "http://10.1.2.3/hook"}, "webhook_url", "private"),
        ({"webhook_url": "http://[::1]/hook"}, "webhook_url", "private"),
        ({"webhook_url": "http://localhost/hook"}, "webhook_url", "private"),
        ({"webhook_url": "ftp://example.com/hook"}, "webhook_url", "URL scheme"),
        ({"webhook_url": "https://user:pw@example.com/hook"}, "webhook_url", "credentials"),
        ({"email": "not-an-address"}, "email", "email"),
        ({}, "body", "exactly one of email or webhook_url"),
        (
            {"email": "a@example.com", "webhook_url": "https://example.com/h"},
            "body",
            "exactly one",
        ),
    ],
)
async def test_bad_subscribers_are_refused_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], field: str, words: str
) -> None:
    response = await client.post("/api/v1/subscribers", json={**body, "by": "Gil"})

    assert response.status_code == 422, response.text
    detail = json.dumps(response.json()["detail"])
    assert field in detail
    assert words in detail
    assert (await client.get("/api/v1/subscribers")).json() == {"items": []}


async def test_an_address_is_subscribed_once_and_removed(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/api/v1/subscribers", json={"email": "Ops@Example.com", "by": "Gil"}
    )
    assert created.status_code == 201
    assert created.json()["email"] == "ops@example.com"
    assert created.json()["status"] == "active"
    assert created.json()["secret"] is None
    again = await client.post("/api/v1/subscribers", json={"email": "ops@example.com", "by": "G"})
    assert again.status_code == 409
    assert "ops@example.com is subscribed already" in again.json()["detail"]

    gone = await client.delete(f"/api/v1/subscribers/{created.json()['id']}")
    assert gone.status_code == 204
    missing = await client.delete(f"/api/v1/subscribers/{created.json()['id']}")
    assert missing.status_code == 404
    assert (await client.get("/api/v1/subscribers")).json() == {"items": []}


async def test_subscribers_need_the_token(anonymous: httpx.AsyncClient) -> None:
    assert (await anonymous.get("/api/v1/subscribers")).status_code == 401
    assert (
        await anonymous.post("/api/v1/subscribers", json={"email": "a@example.com", "by": "x"})
    ).status_code == 401


async def test_the_status_page_needs_no_token(anonymous: httpx.AsyncClient) -> None:
    for path in ("/status", "/status.json", "/status/feed.atom"):
        assert (await anonymous.get(path)).status_code == 200, path


async def test_bad_links_are_not_found_pages(anonymous: httpx.AsyncClient) -> None:
    confirm = await anonymous.get("/status/confirm", params={"token": "x" * 43})
    assert confirm.status_code == 404
    assert "This link is not valid" in confirm.text
    unsubscribe = await anonymous.get("/status/unsubscribe", params={"token": "y" * 43})
    assert unsubscribe.status_code == 404
    malformed = await anonymous.get("/status/confirm", params={"token": "<script>"})
    assert malformed.status_code == 422
