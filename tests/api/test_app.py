"""The app factory and its lifespan: what the API needs before it serves, and how it fails."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RetryConfig
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.config import ApiConfig
from api.deps import Runtime
from domain.models import NotificationKind
from playbooks.base import DEFAULT_DIR, PlaybookError
from testkit.processes import free_port
from testkit.waiting import eventually
from tests.api.conftest import AUTH, declaration, http_client
from tests.conftest import Stack
from tocsin.binaries import temporal_test_server
from tocsin.settings import ApiTokenMissing, Settings
from workflows.incident.client import IncidentService


def test_api_refuses_to_start_without_a_token(tmp_path: Path) -> None:
    with pytest.raises(ApiTokenMissing, match="TOCSIN_API_TOKEN"):
        Settings(data_dir=tmp_path, api_token=None).api_config()


def test_an_empty_token_counts_as_no_token(tmp_path: Path) -> None:
    (tmp_path / "api-token").write_text("\n", encoding="utf-8")

    with pytest.raises(ApiTokenMissing):
        Settings(data_dir=tmp_path, api_token=SecretStr("")).api_config()


async def test_lifespan_connects_to_temporal_and_serves_declarations(
    config: ApiConfig, stack: Stack, declared: list[str]
) -> None:
    app = create_app(config)

    async with app.router.lifespan_context(app), http_client(app, AUTH) as http:
        ready = await http.get("/readyz")
        response = await http.post("/api/v1/incidents", json=declaration())

    assert ready.status_code == 200
    assert response.status_code == 201
    incident_id = response.json()["id"]
    declared.append(incident_id)
    # The stack's worker, on the task queue from the configuration, ran the workflow.
    await eventually(lambda: bool(stack.notifier.of_kind(NotificationKind.PAGE, incident_id)))


async def test_lifespan_pins_the_configured_playbooks_into_new_incidents(
    config: ApiConfig, tmp_path: Path, declared: list[str]
) -> None:
    playbooks = tmp_path / "playbooks"
    shutil.copytree(DEFAULT_DIR, playbooks, ignore=shutil.ignore_patterns("*.py", "__*"))
    level_c = playbooks / "level-c.yaml"
    level_c.write_text(
        level_c.read_text(encoding="utf-8").replace("response_window: 60m", "response_window: 45m"),
        encoding="utf-8",
    )
    app = create_app(replace(config, playbooks_dir=playbooks))

    async with app.router.lifespan_context(app), http_client(app, AUTH) as http:
        response = await http.post("/api/v1/incidents", json=declaration(level="C"))

    assert response.status_code == 201
    declared.append(response.json()["id"])
    assert response.json()["response_window_seconds"] == 45 * 60


async def test_startup_fails_clearly_when_temporal_is_unreachable(config: ApiConfig) -> None:
    address = f"127.0.0.1:{free_port()}"
    app = create_app(replace(config, temporal_address=address), temporal_connect_deadline=0.2)

    with pytest.raises(RuntimeError, match=f"cannot reach Temporal at {address}"):
        async with app.router.lifespan_context(app):
            pass


async def test_startup_fails_on_a_broken_playbook_directory(
    config: ApiConfig, tmp_path: Path
) -> None:
    broken = tmp_path / "playbooks"
    shutil.copytree(DEFAULT_DIR, broken, ignore=shutil.ignore_patterns("*.py", "__*"))
    (broken / "level-b.yaml").write_text("level: B\nresponse_window: soon\n", encoding="utf-8")
    app = create_app(replace(config, playbooks_dir=broken))

    with pytest.raises(PlaybookError, match=r"level-b\.yaml"):
        async with app.router.lifespan_context(app):
            pass


async def test_actions_are_503_when_temporal_goes_away(config: ApiConfig, stack: Stack) -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(temporal_test_server()),
    )
    # A short retry budget keeps the test quick; the error is the same as after a long one.
    client = await Client.connect(
        env.client.service_client.config.target_host,
        data_converter=pydantic_data_converter,
        retry_config=RetryConfig(max_retries=1),
    )
    await env.shutdown()
    app = create_app(config)
    app.state.runtime = Runtime(
        store=stack.store, service=IncidentService(client, stack.task_queue, stack.playbooks)
    )

    async with http_client(app, AUTH) as http:
        declared = await http.post("/api/v1/incidents", json=declaration())
        acked = await http.post("/api/v1/incidents/20200101-zzzz/ack", json={"by": "Bob"})

    for response in (declared, acked):
        assert response.status_code == 503
        assert "Temporal" in response.json()["detail"]
