"""Replaying recorded histories catches a change to workflow code that would break incidents
already running (a non-deterministic change not guarded by ``workflow.patched``)."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from alerts.catalog import load_catalog
from alerts.models import WebhookPayload
from tests.alert_payloads import payload, raw, starting_at
from tests.conftest import Stack, eventually
from tocsin.domain import Actor, EventKind, IncidentType, Level
from workflows.incident import IncidentWorkflow
from workflows.models import workflow_id
from workflows.worker import sandbox_runner

HISTORIES = Path(__file__).parent / "histories"
# Set to write the histories of this run into tests/workflows/histories (commit them when the
# workflow changes on purpose, after guarding the change with workflow.patched).
RECORD = os.environ.get("TOCSIN_RECORD_HISTORIES") == "1"

BOB = Actor(name="Bob")


def replayer() -> Replayer:
    return Replayer(
        workflows=[IncidentWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=sandbox_runner(),
    )


async def full_lifecycle(stack: Stack) -> WorkflowHistory:
    incident = await stack.service.declare(
        title="Payments API 5xx",
        level=Level.B,
        type=IncidentType.SERVICE_OUTAGE,
        declared_by=Actor(name="Alice"),
        service="payments",
    )
    await stack.env.sleep(timedelta(minutes=31))
    await stack.service.change_level(incident.id, Level.A, "card payments down everywhere", BOB)
    await stack.service.acknowledge(incident.id, BOB)
    await stack.service.post_update(incident.id, "Failing over to the secondary PSP", BOB)
    await stack.env.sleep(timedelta(minutes=31))
    await stack.service.mitigate(incident.id, BOB, "secondary PSP serving")
    await stack.service.resolve(incident.id, BOB, "primary PSP fixed its TLS chain")
    handle = stack.client.get_workflow_handle_for(IncidentWorkflow.run, workflow_id(incident.id))
    await handle.result()

    async def fully_recorded() -> bool:
        kinds = [e.kind for e in await stack.store.timeline(incident.id)]
        return EventKind.RESOLVED in kinds

    await eventually(fully_recorded)
    return await handle.fetch_history()


async def breached_and_repaged(stack: Stack) -> WorkflowHistory:
    incident = await stack.service.declare(
        title="Support chat down",
        level=Level.C,
        type=IncidentType.SERVICE_OUTAGE,
        declared_by=Actor(name="Alice"),
    )
    await stack.env.sleep(timedelta(minutes=95))
    await stack.service.resolve(incident.id, BOB, "chat vendor recovered")
    handle = stack.client.get_workflow_handle_for(IncidentWorkflow.run, workflow_id(incident.id))
    await handle.result()
    return await handle.fetch_history()


async def alert_group_flaps(stack: Stack) -> WorkflowHistory:
    """Opened by Alertmanager, redelivered, resolved with its alerts, reopened, resolved
    again, and closed when the reopen window runs out."""
    catalog = load_catalog()
    firing = WebhookPayload.model_validate(raw("support-chat-firing"))
    result = await stack.service.receive_alerts(firing, catalog)
    assert result.incident is not None
    incident_id = result.incident.id
    await stack.service.receive_alerts(firing, catalog)
    await stack.service.receive_alerts(payload("support-chat-resolved"), catalog)
    await stack.env.sleep(timedelta(minutes=5))
    refired = starting_at(
        raw("support-chat-firing"), result.incident.declared_at + timedelta(minutes=5)
    )
    await stack.service.receive_alerts(WebhookPayload.model_validate(refired), catalog)
    await stack.service.acknowledge(incident_id, BOB)
    resolved = starting_at(
        raw("support-chat-resolved"), result.incident.declared_at + timedelta(minutes=5)
    )
    await stack.service.receive_alerts(WebhookPayload.model_validate(resolved), catalog)
    await stack.env.sleep(timedelta(minutes=31))
    handle = stack.client.get_workflow_handle_for(IncidentWorkflow.run, workflow_id(incident_id))
    await handle.result()
    return await handle.fetch_history()


@pytest.mark.parametrize("scenario", [full_lifecycle, breached_and_repaged, alert_group_flaps])
async def test_histories_of_this_run_replay(stack: Stack, scenario: object) -> None:
    assert callable(scenario)
    history: WorkflowHistory = await scenario(stack)

    result = await replayer().replay_workflow(history)

    assert result.replay_failure is None
    if RECORD:
        HISTORIES.mkdir(exist_ok=True)
        name = scenario.__name__  # type: ignore[attr-defined]
        (HISTORIES / f"{name}.json").write_text(history.to_json(), encoding="utf-8")


def committed_histories() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


def test_committed_histories_exist() -> None:
    assert committed_histories(), "record them with TOCSIN_RECORD_HISTORIES=1"


@pytest.mark.parametrize("path", committed_histories(), ids=lambda p: p.stem)
async def test_committed_histories_replay_on_current_code(path: Path) -> None:
    text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    history = WorkflowHistory.from_json(path.stem, text)

    result = await replayer().replay_workflow(history, raise_on_replay_failure=False)

    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"
