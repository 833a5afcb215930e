"""Liveness and readiness: /readyz answers 503 with the reason when a dependency is down."""

from __future__ import annotations

from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from adapters.records import RecordsStore
from api.app import create_app
from api.config import ApiConfig
from api.deps import Runtime
from testkit.processes import free_port
from tests.api.conftest import AUTH, http_client
from tests.conftest import Stack
from workflows.incident.client import IncidentService


async def test_healthz_answers_while_the_process_runs(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_readyz_is_200_when_database_and_temporal_answer(
    anonymous: httpx.AsyncClient,
) -> None:
    response = await anonymous.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "temporal": "ok"},
    }


async def test_readyz_is_503_naming_the_database_when_it_is_unreachable(
    config: ApiConfig, service: IncidentService, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-dir" / "records.db"
    store = RecordsStore.from_url(f"sqlite+aiosqlite:///{missing}")
    app = create_app(config)
    app.state.runtime = Runtime(store=store, service=service)
    try:
        async with http_client(app) as http:
            response = await http.get("/readyz")
    finally:
        await store.close()

    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["temporal"] == "ok"
    assert body["checks"]["database"].startswith("unreachable")
    assert body["detail"].startswith("not ready: database unreachable")
    assert str(missing) not in response.text


async def test_reads_are_503_when_the_database_is_unreachable(
    config: ApiConfig, service: IncidentService, tmp_path: Path
) -> None:
    store = RecordsStore.from_url(f"sqlite+aiosqlite:///{tmp_path / 'no-such-dir' / 'r.db'}")
    app = create_app(config)
    app.state.runtime = Runtime(store=store, service=service)
    try:
        async with http_client(app, AUTH) as http:
            responses = [
                await http.get("/api/v1/incidents"),
                await http.get("/api/v1/incidents/20200101-zzzz"),
                await http.get("/metrics"),
            ]
    finally:
        await store.close()

    for response in responses:
        assert response.status_code == 503
        assert response.json() == {
            "detail": "the records database is unavailable; try again shortly"
        }


async def test_readyz_is_503_naming_temporal_when_it_is_unreachable(
    config: ApiConfig, stack: Stack
) -> None:
    # A real client for an address where nothing listens; lazy, so it connects on first use.
    dead = await Client.connect(
        f"127.0.0.1:{free_port()}", data_converter=pydantic_data_converter, lazy=True
    )
    app = create_app(config)
    app.state.runtime = Runtime(
        store=stack.store, service=IncidentService(dead, stack.task_queue, stack.playbooks)
    )

    async with http_client(app) as http:
        response = await http.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["temporal"].startswith("unreachable")
    assert body["detail"].startswith("not ready: temporal unreachable")
