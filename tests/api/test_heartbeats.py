"""Heartbeat monitors through the API and the worker: a missed beat opens an incident as an
alert group would, the next beat clears it; a monitor that never beat alarms too; a monitor
of a component under maintenance stays quiet; unknown monitors and wrong tokens are refused."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shlex
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import apprise
import httpx
import pytest
import yaml
from fastapi import FastAPI
from pydantic import SecretStr
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from adapters.clock import utcnow
from api.config import ApiConfig
from domain.heartbeats import Heartbeats
from domain.models import EventKind, Incident, Person, Source
from domain.statements import Maintenance, MaintenanceStatus
from playbooks.base import DEFAULT_DIR
from playbooks.loader import load_heartbeats
from testkit.waiting import eventually
from tests.alert_payloads import INTAKE_AUTH, INTAKE_TOKEN
from tests.api.conftest import (
    AUTH,
    TOKEN,
    TrackedService,
    api_config,
    build_app,
    http_client,
    serving,
)
from tests.api.test_console import sign_in
from tests.conftest import Stack, open_stack
from tests.readme import commands, section
from tocsin.cli import app as app_cli
from workflows.heartbeats.client import start_monitors
from workflows.ids import heartbeat_workflow_id

MONITORS = """\
monitors:
  - {name: watchdog, interval: 5m, grace: 2m, level: B, type: service_outage}
  - {name: nightly-export, interval: 1h, grace: 10m, level: C, type: service_outage,
     service: checkout}
"""
WATCHDOG = Path(__file__).parents[1] / "fixtures" / "alertmanager" / "watchdog.json"
ALERTMANAGER = Path(__file__).parents[2] / "alerts" / "alertmanager" / "alertmanager.yml"


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    target = tmp_path / "playbooks"
    shutil.copytree(DEFAULT_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (target / "heartbeats.yaml").write_text(MONITORS, encoding="utf-8")
    return target


@pytest.fixture
async def stack(
    ts_env: WorkflowEnvironment, tmp_path: Path, directory: Path
) -> AsyncIterator[Stack]:
    async for opened in open_stack(ts_env, tmp_path, directory):
        yield opened


@pytest.fixture
def config(tmp_path: Path, stack: Stack, directory: Path) -> ApiConfig:
    return api_config(
        tmp_path,
        intake_token=SecretStr(INTAKE_TOKEN),
        task_queue=stack.task_queue,
        playbooks_dir=directory,
    )


@pytest.fixture
def app(config: ApiConfig, stack: Stack, service: TrackedService) -> FastAPI:
    return build_app(config, stack.store, service)


@pytest.fixture
async def beats(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app, INTAKE_AUTH) as http:
        yield http


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app, AUTH) as http:
        yield http


async def _monitor(api: httpx.AsyncClient, name: str) -> dict[str, Any]:
    answer = await api.get("/api/v1/heartbeats")
    assert answer.status_code == 200
    return next(item for item in answer.json()["items"] if item["name"] == name)


async def _heartbeat_incidents(stack: Stack) -> list[Incident]:
    incidents = await stack.store.list_incidents()
    return [i for i in incidents if i.source is Source.ALERTMANAGER]


async def test_a_missed_beat_opens_an_incident_and_the_next_beat_clears_it(
    stack: Stack, beats: httpx.AsyncClient, api: httpx.AsyncClient, app: FastAPI
) -> None:
    # Alertmanager's Watchdog webhook as the body: taken, and not looked at.
    first = await beats.post("/api/v1/heartbeats/watchdog", content=WATCHDOG.read_bytes())
    assert first.status_code == 202
    assert first.json()["status"] == "up"
    await eventually(lambda: _status_is(api, "watchdog", "up"))

    await stack.env.sleep(timedelta(minutes=5, seconds=10))
    assert (await _monitor(api, "watchdog"))["status"] == "late"
    assert await _heartbeat_incidents(stack) == []

    await stack.env.sleep(timedelta(minutes=2))
    [incident] = await eventually(lambda: _heartbeat_incidents(stack))
    assert incident.title == "No heartbeat from watchdog since " + incident.title.split("since ")[1]
    assert incident.level.value == "B"
    down = await eventually(lambda: _status_is(api, "watchdog", "down"))
    assert down["incident_id"] == incident.id
    # The lead console's on-call page shows the monitor down and links its incident.
    async with http_client(app) as browser:
        await sign_in(browser, TOKEN)
        page = (await browser.get("/console/oncall")).text
    assert '<tr class="beat-down"><td>watchdog</td><td>down</td>' in page
    assert f'<a href="/console/incidents/{incident.id}">' in page

    again = await beats.post("/api/v1/heartbeats/watchdog")  # an empty body beats too
    assert again.status_code == 202

    async def cleared() -> bool:
        kinds = {e.kind for e in await stack.store.timeline(incident.id)}
        return bool({EventKind.ALERTS_CLEARED, EventKind.ALERTS_RESOLVED} & kinds)

    await eventually(cleared)
    await eventually(lambda: _status_is(api, "watchdog", "up"))


async def test_a_monitor_that_never_beats_alarms_too(
    stack: Stack, api: httpx.AsyncClient, directory: Path
) -> None:
    await start_monitors(stack.client, stack.task_queue, load_heartbeats(directory))
    await eventually(lambda: _status_is(api, "watchdog", "new"))
    await stack.env.sleep(timedelta(minutes=7, seconds=10))
    [incident] = await eventually(lambda: _heartbeat_incidents(stack))
    assert incident.title == "No heartbeat from watchdog since it was configured"
    await eventually(lambda: _status_is(api, "watchdog", "down"))


async def test_a_monitor_of_a_component_under_maintenance_stays_quiet(
    stack: Stack, beats: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    now = utcnow()
    await stack.store.statements.save_maintenance(
        Maintenance(
            id="mnt_export",
            title="Checkout database upgrade",
            body="",
            components=["checkout"],
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=3),
            status=MaintenanceStatus.IN_PROGRESS,
            created_by="Alice",
            created_at=now,
        )
    )
    assert (await beats.post("/api/v1/heartbeats/nightly-export")).status_code == 202
    await stack.env.sleep(timedelta(hours=1, minutes=11))
    await eventually(lambda: _status_is(api, "nightly-export", "down"))
    assert await _heartbeat_incidents(stack) == []


@pytest.fixture
async def dev_monitors(
    dev_env: WorkflowEnvironment, tmp_path: Path, directory: Path
) -> AsyncIterator[Stack]:
    """A worker on the dev server, which lists running workflows as a production server does."""
    async for opened in open_stack(dev_env, tmp_path, directory):
        yield opened


async def test_a_monitor_taken_out_of_the_configuration_stops(
    dev_monitors: Stack, directory: Path
) -> None:
    # Names of their own: the dev server is shared by this worker's tests.
    kept, dropped = f"kept-{uuid.uuid4().hex[:8]}", f"dropped-{uuid.uuid4().hex[:8]}"
    config = directory / "heartbeats.yaml"
    both = f"""\
monitors:
  - {{name: {kept}, interval: 5m, grace: 2m, level: B, type: service_outage}}
  - {{name: {dropped}, interval: 1h, grace: 10m, level: C, type: service_outage}}
"""
    config.write_text(both, encoding="utf-8")
    client, queue = dev_monitors.client, dev_monitors.task_queue
    await start_monitors(client, queue, load_heartbeats(directory))
    handles = {n: client.get_workflow_handle(heartbeat_workflow_id(n)) for n in (kept, dropped)}

    async def listed() -> bool:
        query = f"TaskQueue = '{queue}' AND ExecutionStatus = 'Running'"
        return len([w async for w in client.list_workflows(query)]) == 2

    try:
        await eventually(listed)  # visibility lags a moment behind the starts

        # The monitor is taken out of heartbeats.yaml and the worker starts again.
        config.write_text(both.rsplit("  - ", 1)[0], encoding="utf-8")
        await start_monitors(client, queue, load_heartbeats(directory))

        assert (await handles[dropped].describe()).status is WorkflowExecutionStatus.TERMINATED
        assert (await handles[kept].describe()).status is WorkflowExecutionStatus.RUNNING
    finally:
        for handle in handles.values():
            with contextlib.suppress(RPCError):  # already stopped
                await handle.terminate()


async def test_unknown_monitor_is_404_and_a_wrong_token_401(
    beats: httpx.AsyncClient, app: FastAPI
) -> None:
    unknown = await beats.post("/api/v1/heartbeats/nosuch")
    assert unknown.status_code == 404
    assert "nosuch" in unknown.json()["detail"]
    async with http_client(app, {"Authorization": "Bearer wrong"}) as wrong:
        refused = await wrong.post("/api/v1/heartbeats/watchdog")
        assert refused.status_code == 401
        assert (await wrong.get("/api/v1/heartbeats")).status_code == 401
    # The intake token beats, and opens nothing else.
    assert (await beats.get("/api/v1/heartbeats")).status_code == 401


async def _status_is(api: httpx.AsyncClient, name: str, status: str) -> dict[str, Any] | None:
    monitor = await _monitor(api, name)
    return monitor if monitor["status"] == status else None


@pytest.fixture
async def served(app: FastAPI) -> AsyncIterator[str]:
    async with serving(app) as url:
        yield url


async def test_tocsin_heartbeats_shows_each_monitor(served: str, beats: httpx.AsyncClient) -> None:
    assert (await beats.post("/api/v1/heartbeats/watchdog")).status_code == 202
    runner = CliRunner()
    result = await asyncio.to_thread(
        runner.invoke, app_cli, ["--api-url", served, "--token", TOKEN, "heartbeats"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == [
        "MONITOR", "STATUS", "LAST", "BEAT", "(UTC)", "DUE", "(UTC)", "EVERY", "INCIDENT",
    ]  # fmt: skip
    assert lines[1].split()[:2] == ["watchdog", "up"]
    assert "5m + 2m" in lines[1]
    assert lines[2].split()[:3] == ["nightly-export", "new", "never"]


def _readme_blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", section("Paging"), flags=re.DOTALL)


def test_the_readme_paging_examples_are_the_shipped_ones() -> None:
    people, monitors, route = (yaml.safe_load(b) for b in _readme_blocks("yaml"))
    [ada] = [Person.model_validate(p) for p in people["people"]]
    [push] = [step.url for step in ada.rules() if step.url is not None]
    assert apprise.Apprise.instantiate(push.get_secret_value()) is not None
    assert Heartbeats.model_validate(monitors) == load_heartbeats()
    shipped = yaml.safe_load(ALERTMANAGER.read_text(encoding="utf-8"))
    assert route["route"]["routes"][0] in shipped["route"]["routes"]
    assert route["receivers"][0] in shipped["receivers"]


async def test_every_paging_command_of_the_readme_runs(
    served: str, beats: httpx.AsyncClient, directory: Path
) -> None:
    people = yaml.safe_load(_readme_blocks("yaml")[0])["people"]
    roster = directory / "roster.yaml"
    ada = "      - {name: Ada Okafor, slack_user_id: U0TECH001, email: ada@example.com}"
    text = roster.read_text(encoding="utf-8")
    assert ada in text
    roster.write_text(text.replace(ada, "      - " + json.dumps(people[0])), encoding="utf-8")
    assert (await beats.post("/api/v1/heartbeats/watchdog")).status_code == 202
    runner = CliRunner()
    outputs = []
    for line in commands("Paging"):
        args = [str(directory) if a == "playbooks/" else a for a in shlex.split(line)[1:]]
        result = await asyncio.to_thread(
            runner.invoke, app_cli, ["--api-url", served, "--token", TOKEN, *args]
        )
        assert result.exit_code == 0, f"{line}\n{result.output}"
        outputs.append(result.output)
    validated, listed = outputs
    assert (
        "Ada Okafor is paged by: slack at once; email after 5m; "
        "apprise ntfys://<redacted> after 10m"
    ) in validated
    assert "secrettoken" not in validated
    assert listed.splitlines()[1].split()[:2] == ["watchdog", "up"]
