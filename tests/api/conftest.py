"""The API under test, wired to the real worker and time-skipping Temporal server of ``stack``.

The app is driven in-process through ``httpx.ASGITransport``, which does not run the lifespan:
each fixture builds ``app.state.runtime`` from the stack's records store and incident service
instead, so the app and the worker share one database and one task queue. The lifespan itself
is exercised in ``test_app.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from temporalio.service import RPCError

from adapters.records import RecordsStore
from alerts.catalog import DEFAULT_FILE as SERVICES_FILE
from api.config import ApiConfig
from api.deps import Runtime
from domain.models import Declaration, Incident, NotificationKind, Status
from playbooks.base import DEFAULT_DIR
from playbooks.roster import RosterSource
from testkit.oncall import scheduled_playbooks
from testkit.waiting import eventually
from tests.api.apps import lend_app
from tests.conftest import Stack
from workflows.ids import workflow_id
from workflows.incident.client import IncidentService

TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BASE_URL = "http://tocsin.test"


def database_url(tmp_path: Path) -> str:
    """The records database of ``tests.conftest.open_stack`` for this test."""
    return f"sqlite+aiosqlite:///{tmp_path / 'records.db'}"


def api_config(tmp_path: Path, **overrides: Any) -> ApiConfig:
    """The API's configuration for a test: the bundled playbooks and catalog, its own records."""
    values: dict[str, Any] = {
        "api_token": SecretStr(TOKEN),
        "database_url": database_url(tmp_path),
        "playbooks_dir": DEFAULT_DIR,
        "services_file": SERVICES_FILE,
    }
    values.update(overrides)
    return ApiConfig(**values)


@pytest.fixture
def config(tmp_path: Path, stack: Stack) -> ApiConfig:
    return api_config(
        tmp_path,
        task_queue=stack.task_queue,
        temporal_address=stack.client.service_client.config.target_host,
    )


class TrackedService(IncidentService):
    """The real service; it remembers what it declared so that teardown can close it."""

    def __init__(self, stack: Stack, declared: list[str]) -> None:
        super().__init__(stack.client, stack.task_queue, stack.playbooks)
        self.declared = declared

    async def declare(self, declaration: Declaration, incident_id: str | None = None) -> Incident:
        incident = await super().declare(declaration, incident_id)
        self.declared.append(incident.id)
        return incident


@pytest.fixture
async def declared(stack: Stack) -> AsyncIterator[list[str]]:
    """Ids of incidents the test declared; their workflows are terminated afterwards.

    The time-skipping server does not move its clock while a workflow has a task that no
    worker will ever pick up, so an incident left open after its worker has stopped would
    stall every later ``env.sleep`` of the session.
    """
    ids: list[str] = []
    yield ids
    for incident_id in ids:
        with contextlib.suppress(RPCError):  # already completed
            await stack.client.get_workflow_handle(workflow_id(incident_id)).terminate()


@pytest.fixture
def service(stack: Stack, declared: list[str]) -> TrackedService:
    return TrackedService(stack, declared)


def build_app(config: ApiConfig, store: RecordsStore, service: IncidentService) -> FastAPI:
    app = lend_app(config)
    app.state.runtime = Runtime(store=store, service=service, roster=RosterSource(DEFAULT_DIR))
    return app


@pytest.fixture
def app(config: ApiConfig, stack: Stack, service: TrackedService) -> FastAPI:
    return build_app(config, stack.store, service)


def http_client(app: FastAPI, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL, headers=headers
    )


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Authenticated."""
    async with http_client(app, AUTH) as http:
        yield http


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app) as http:
        yield http


def declaration(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Checkout is down",
        "level": "A",
        "type": "service_outage",
        "service": "checkout",
        "by": "Alice",
    }
    body.update(overrides)
    return body


Declare = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def declare(client: httpx.AsyncClient) -> Declare:
    async def declare(**overrides: Any) -> dict[str, Any]:
        response = await client.post("/api/v1/incidents", json=declaration(**overrides))
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    return declare


async def recorded(store: RecordsStore, incident_id: str, status: Status | None = None) -> Incident:
    """The incident once the worker has recorded it (in ``status``, if given)."""
    found: list[Incident] = []

    async def check() -> bool:
        incident = await store.get_incident(incident_id)
        if incident is None or (status is not None and incident.status is not status):
            return False
        found.append(incident)
        return True

    await eventually(check)
    return found[-1]


async def assert_only_incident_started(stack: Stack, client: httpx.AsyncClient) -> None:
    """Declare a sentinel and wait for the worker to record and page it: by then, a workflow
    started by any earlier (rejected) request would have been recorded and paged too."""
    response = await client.post("/api/v1/incidents", json=declaration(title="sentinel"))
    assert response.status_code == 201
    sentinel = response.json()["id"]
    await recorded(stack.store, sentinel)
    await eventually(lambda: bool(stack.notifier.of_kind(NotificationKind.PAGE, sentinel)))
    listed = (await client.get("/api/v1/incidents")).json()
    assert [item["id"] for item in listed["items"]] == [sentinel]
    assert {n.incident.id for n in stack.notifier.sent} == {sentinel}


@pytest.fixture
def scheduled_app(
    tmp_path: Path, config: ApiConfig, stack: Stack, service: TrackedService
) -> FastAPI:
    app = build_app(config, stack.store, service)
    # Technical support's primary tier is the `support` schedule (testkit.oncall).
    directory = scheduled_playbooks(tmp_path / "playbooks")
    app.state.runtime = Runtime(store=stack.store, service=service, roster=RosterSource(directory))
    return app


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """``app`` behind a real uvicorn server on a free loopback port; its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started or task.done())
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def scheduled_served(scheduled_app: FastAPI) -> AsyncIterator[str]:
    async with serving(scheduled_app) as url:
        yield url
