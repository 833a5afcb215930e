"""A Temporal that accepts connections and never answers: every route family answers 503
with ``Retry-After`` within its time bound (Alertmanager and scripts retry on it), and Slack
gets its answer within 3 seconds all the same."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from api.app import create_app
from api.config import ApiConfig
from api.deps import Runtime
from tests.alert_payloads import INTAKE_AUTH, INTAKE_TOKEN, WEBHOOK, raw
from tests.api.conftest import AUTH, declaration, http_client
from tests.conftest import Stack
from workflows.incident.client import IncidentService

BOUND = 0.5  # the configured time bound for this test, far below the defaults
# Answered within the configured bound, not the defaults (8 s for the webhook, 10 s for the
# rest): the margin is for a machine busy with the rest of the suite, and stays below them.
WITHIN = BOUND + 5.0


@pytest.fixture
async def silent_temporal() -> AsyncIterator[str]:
    """A TCP port that accepts connections and never says a word."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        await reader.read()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        for writer in held:
            writer.close()
        server.close()


@pytest.fixture
async def stalled(
    config: ApiConfig, stack: Stack, silent_temporal: str
) -> AsyncIterator[httpx.AsyncClient]:
    client = await Client.connect(
        silent_temporal, data_converter=pydantic_data_converter, lazy=True
    )
    app = create_app(
        replace(
            config,
            intake_token=SecretStr(INTAKE_TOKEN),
            intake_timeout_seconds=BOUND,
            temporal_timeout_seconds=BOUND,
        )
    )
    app.state.runtime = Runtime(
        store=stack.store,
        service=IncidentService(client, stack.task_queue, stack.playbooks, call_timeout=BOUND),
    )
    async with http_client(app) as http:
        yield http


@pytest.mark.parametrize(
    ("method", "path", "body", "auth"),
    [
        ("POST", "/api/v1/incidents", declaration(), AUTH),
        ("POST", "/api/v1/incidents/20261123-k7qz/ack", {"by": "Bob"}, AUTH),
        ("POST", "/api/v1/incidents/20261123-k7qz/resolve", {"by": "Bob"}, AUTH),
        ("GET", "/api/v1/incidents/20261123-k7qz", None, AUTH),
        ("GET", "/api/v1/incidents/20261123-k7qz/timeline", None, AUTH),
        ("POST", WEBHOOK, raw("checkout-firing"), INTAKE_AUTH),
    ],
)
async def test_a_stalled_temporal_is_a_503_with_retry_after_never_a_500(
    stalled: httpx.AsyncClient,
    method: str,
    path: str,
    body: object,
    auth: dict[str, str],
) -> None:
    started = time.perf_counter()

    response = await stalled.request(method, path, json=body, headers=auth)

    took = time.perf_counter() - started
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "5"
    assert "Temporal" in response.json()["detail"]
    assert took < WITHIN


async def test_readiness_says_temporal_is_the_problem(stalled: httpx.AsyncClient) -> None:
    response = await stalled.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"]["temporal"] == "unreachable (TimeoutError)"


async def test_metrics_show_temporal_down_and_the_webhook_503s(
    stalled: httpx.AsyncClient,
) -> None:
    # What tocsin's own alert rules (alerts/prometheus/tocsin.yml) read when Temporal hangs.
    for _ in range(2):
        answer = await stalled.post(WEBHOOK, json=raw("checkout-firing"), headers=INTAKE_AUTH)
        assert answer.status_code == 503

    started = time.perf_counter()
    response = await stalled.get("/metrics")

    assert response.status_code == 200
    assert time.perf_counter() - started < WITHIN
    lines = response.text.splitlines()
    assert "tocsin_temporal_up 0.0" in lines
    assert "tocsin_alert_notifications_unavailable_total 2.0" in lines
