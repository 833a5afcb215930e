"""Bearer-token authentication and the request-body cap."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from api.config import ApiConfig
from api.middleware import BodySizeLimit
from tests.api.conftest import (
    AUTH,
    TOKEN,
    assert_only_incident_started,
    build_app,
    declaration,
    http_client,
    serving,
)
from tests.conftest import Stack
from tocsin.settings import TOKEN_FILE, Settings
from workflows.incident.client import IncidentService

MIB = 1024 * 1024

ENDPOINTS = [
    ("POST", "/api/v1/incidents", declaration()),
    ("GET", "/api/v1/incidents", None),
    ("GET", "/api/v1/incidents/20200101-zzzz", None),
    ("POST", "/api/v1/incidents/20200101-zzzz/ack", {"by": "Bob"}),
    ("POST", "/api/v1/incidents/20200101-zzzz/level", {"level": "B", "reason": "r", "by": "B"}),
    ("POST", "/api/v1/incidents/20200101-zzzz/updates", {"text": "t", "by": "Bob"}),
    ("POST", "/api/v1/incidents/20200101-zzzz/mitigate", {"by": "Bob"}),
    ("POST", "/api/v1/incidents/20200101-zzzz/resolve", {"by": "Bob"}),
    ("GET", "/api/v1/incidents/20200101-zzzz/timeline", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer wrong-token",
        f"Bearer {TOKEN}x",
        f"Basic {TOKEN}",
        "Bearer",
        "Bearer t\u00e9st",
    ],
    ids=["missing", "wrong", "longer", "basic", "empty", "non-ascii"],
)
async def test_every_api_endpoint_rejects_a_missing_or_wrong_token_with_401(
    anonymous: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, str] | None,
    authorization: str | None,
) -> None:
    # As raw bytes, so that a non-ASCII value reaches the server as UTF-8.
    headers = [] if authorization is None else [(b"Authorization", authorization.encode())]

    response = await anonymous.request(method, path, json=body, headers=headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert TOKEN not in response.text
    assert isinstance(response.json()["detail"], str)


async def test_token_is_checked_before_the_body_is_validated(
    anonymous: httpx.AsyncClient,
) -> None:
    response = await anonymous.post("/api/v1/incidents", json={"title": ""})

    assert response.status_code == 401


async def test_token_from_the_data_directory_is_accepted(
    tmp_path: Path, stack: Stack, config: ApiConfig, service: IncidentService
) -> None:
    (tmp_path / TOKEN_FILE).write_text("generated-by-tocsin-up\n", encoding="utf-8")
    resolved = Settings(data_dir=tmp_path, api_token=None).api_config()
    app = build_app(replace(config, api_token=resolved.api_token), stack.store, service)

    async with http_client(app) as http:
        good = await http.get(
            "/api/v1/incidents", headers={"Authorization": "Bearer generated-by-tocsin-up"}
        )
        bad = await http.get("/api/v1/incidents", headers=AUTH)

    assert good.status_code == 200
    assert bad.status_code == 401


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
async def test_probes_and_metrics_need_no_token(anonymous: httpx.AsyncClient, path: str) -> None:
    response = await anonymous.get(path)

    assert response.status_code == 200


def padded_declaration(size: int) -> bytes:
    """A valid declaration, padded with JSON whitespace to exactly ``size`` bytes."""
    body = json.dumps(declaration(title="big body")).encode()
    return body + b" " * (size - len(body))


async def test_body_over_the_cap_by_content_length_is_413(
    client: httpx.AsyncClient, stack: Stack
) -> None:
    response = await client.post(
        "/api/v1/incidents",
        content=padded_declaration(MIB + 1),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.json() == {"detail": f"request body is larger than {MIB} bytes"}
    await assert_only_incident_started(stack, client)


CHUNK = b" " * (64 * 1024)


def chunked_declaration(padding: int, sent: list[int] | None = None) -> AsyncIterator[bytes]:
    """A declaration followed by ``padding`` bytes of whitespace, streamed in 64 KiB chunks."""

    async def stream() -> AsyncIterator[bytes]:
        yield json.dumps(declaration(title="big body")).encode()
        for _ in range(padding // len(CHUNK)):
            if sent is not None:
                sent.append(len(CHUNK))
            yield CHUNK

    return stream()


async def test_chunked_body_over_the_cap_is_413(client: httpx.AsyncClient, stack: Stack) -> None:
    response = await client.post(
        "/api/v1/incidents",
        content=chunked_declaration(2 * MIB),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.json()["detail"] == f"request body is larger than {MIB} bytes"
    await assert_only_incident_started(stack, client)


async def test_reading_an_oversized_body_stops_after_a_bound(client: httpx.AsyncClient) -> None:
    sent: list[int] = []

    response = await client.post(
        "/api/v1/incidents",
        content=chunked_declaration(64 * MIB, sent),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 413
    # The rest is discarded for a while so that real clients see the 413, but not forever.
    assert sum(sent) <= 9 * MIB + len(CHUNK)


@pytest.fixture
async def served(app: FastAPI) -> AsyncIterator[str]:
    """The app behind a real uvicorn server on a free loopback port; its base URL."""
    async with serving(app) as url:
        yield url


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
async def test_a_client_still_sending_an_oversized_body_receives_the_413(
    served: str, chunked: bool
) -> None:
    content = chunked_declaration(4 * MIB) if chunked else padded_declaration(4 * MIB)

    async with httpx.AsyncClient(base_url=served, headers=AUTH) as http:
        response = await http.post(
            "/api/v1/incidents", content=content, headers={"Content-Type": "application/json"}
        )

    assert response.status_code == 413
    assert response.json() == {"detail": f"request body is larger than {MIB} bytes"}


async def test_chunked_request_has_no_content_length(client: httpx.AsyncClient) -> None:
    # Guards the test above: it proves the streaming count only if no length was declared.
    async def stream() -> AsyncIterator[bytes]:
        yield b"{}"

    request = client.build_request("POST", "/api/v1/incidents", content=stream())

    assert "Content-Length" not in request.headers
    assert request.headers["Transfer-Encoding"] == "chunked"


async def test_body_of_exactly_the_cap_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/incidents",
        content=padded_declaration(MIB),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 201
    assert response.json()["title"] == "big body"


async def test_chunked_body_within_the_cap_reaches_the_route_whole(
    client: httpx.AsyncClient,
) -> None:
    body = padded_declaration(MIB)

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 100_000):
            yield body[start : start + 100_000]

    response = await client.post(
        "/api/v1/incidents", content=stream(), headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 201
    assert response.json()["title"] == "big body"


async def test_body_limit_passes_a_client_disconnect_on_to_the_app() -> None:
    seen: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(await receive())

    messages: list[Message] = [
        {"type": "http.request", "body": b"{", "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        raise AssertionError(f"nothing should be sent to a gone client: {message}")

    scope: Scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    await BodySizeLimit(app, max_bytes=10)(scope, receive, send)

    assert seen == [{"type": "http.disconnect"}]
