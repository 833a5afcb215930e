"""Nothing silently dropped across an outage: with no worker running past the escalation
step and the deadline, the step fires late when a worker comes back — marked late on the
timeline, paging its own tier — and then the breach. An acknowledgement given while no worker
runs is kept, and counts from the moment the person gave it.

On the dev server, in real time: the time-skipping server stops skipping while a workflow
task waits with no worker to take it, which is the very situation tried here."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from adapters.clock import utcnow
from adapters.records import RecordsStore, migrate
from domain.models import (
    Actor,
    Declaration,
    EventKind,
    Incident,
    IncidentType,
    Level,
    NotificationKind,
)
from playbooks.loader import load_playbooks
from playbooks.roster import RosterSource
from testkit.playbooks import playbook_dir
from testkit.waiting import eventually
from tests.api.conftest import AUTH, TOKEN, api_config, build_app, http_client, serving
from tests.api.test_console import a_token, sign_in
from tests.conftest import RecordingNotifier, outbound
from tocsin.cli import app as cli
from workflows.ids import workflow_id
from workflows.incident.client import IncidentService
from workflows.incident.models import AckInput
from workflows.incident.workflow import IncidentWorkflow
from workflows.worker import build_worker

OUTAGE_LEVEL = """\
level: A
name: Outage trial
response_window: 3s
escalation:
  - after: 1s
    page: [secondary]
on_breach:
  page: [manager]
  repeat_every: 1h
update_every: 1h
on_alerts_cleared: mitigated
reopen_within: 2s
"""


@dataclass
class Outage:
    """Records, a recording notifier and the service on a fresh task queue; workers come and
    go with ``worker()``, which is what each trial stops and starts."""

    env: WorkflowEnvironment
    directory: Path
    tmp_path: Path
    store: RecordsStore
    notifier: RecordingNotifier
    queue: str
    service: IncidentService

    def worker(self) -> Any:
        return build_worker(
            self.env.client,
            self.queue,
            self.store,
            self.notifier,
            RosterSource(self.directory),
            outbound(self.tmp_path, self.directory),
        )

    async def declare(self) -> Incident:
        return await self.service.declare(
            Declaration(
                title="Checkout failing",
                level=Level.A,
                type=IncidentType.SERVICE_OUTAGE,
                declared_by=Actor(name="Alice"),
            )
        )


async def outage(env: WorkflowEnvironment, tmp_path: Path, level: str, **service: Any) -> Outage:
    directory = playbook_dir(tmp_path / "playbooks", {"A": level})
    url = f"sqlite+aiosqlite:///{tmp_path / 'records.db'}"
    await migrate(url)
    queue = f"tocsin-outage-{uuid.uuid4()}"
    return Outage(
        env=env,
        directory=directory,
        tmp_path=tmp_path,
        store=RecordsStore.from_url(url),
        notifier=RecordingNotifier(),
        queue=queue,
        service=IncidentService(env.client, queue, load_playbooks(directory), **service),
    )


async def test_steps_due_while_no_worker_ran_fire_late_then_the_breach(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    trial = await outage(dev_env, tmp_path, OUTAGE_LEVEL)
    store, notifier = trial.store, trial.notifier

    try:
        async with trial.worker():
            incident = await trial.declare()
            await eventually(lambda: notifier.of_kind(NotificationKind.PAGE, incident.id) or None)
        # Nothing runs past the step (1s) and the deadline (3s).
        await asyncio.sleep(9)
        async with trial.worker():

            async def breached() -> list[EventKind] | None:
                kinds = [e.kind for e in await store.timeline(incident.id)]
                return kinds if EventKind.BREACHED in kinds else None

            kinds = await eventually(breached, within=20)
            events = await store.timeline(incident.id)
            escalations = await eventually(
                lambda: notifier.of_kind(NotificationKind.ESCALATION, incident.id) or None
            )
    finally:
        await store.close()

    steps = [e for e in events if e.kind is EventKind.ESCALATED]
    assert [e.data["step"] for e in steps] == [1]
    assert all(e.data["late_by_ms"] >= 5000 for e in steps)
    assert all("tocsin was not running when it fell due" in e.text for e in steps)
    assert kinds.index(EventKind.BREACHED) > kinds.index(EventKind.ESCALATED)
    assert {n.recipient.person.name for n in escalations if n.recipient} == {"Ben Lindqvist"}


STALL_LEVEL = OUTAGE_LEVEL.replace("response_window: 3s", "response_window: 1h").replace(
    "after: 1s", "after: 30m"
)


async def test_an_acknowledgement_given_while_no_worker_runs_is_kept_and_counts_from_the_press(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Temporal does not keep an update that no worker has accepted yet: restarting a worker
    could lose it (it did, about one run in fifteen on a loaded machine). The API keeps the
    press as a signal instead and says so: 202, applied once a worker runs (ADR 0038); the
    CLI prints it as taken."""
    trial = await outage(dev_env, tmp_path, STALL_LEVEL, call_timeout=1.0, clock=utcnow)
    store = trial.store
    app = build_app(api_config(tmp_path), store, trial.service)

    try:
        async with http_client(app, AUTH) as api, serving(app) as served, http_client(app) as lead:
            async with trial.worker():
                incident = await trial.declare()
                other = await trial.declare()
                third = await trial.declare()
                csrf = await sign_in(lead, await a_token(api, "lead-ada", "lead", "Ada Okafor"))
            pressed = utcnow()
            started = time.monotonic()
            answer = await api.post(f"/api/v1/incidents/{incident.id}/ack", json={"by": "Bob"})
            assert time.monotonic() - started < 5
            assert answer.status_code == 202, answer.text
            taken = answer.json()
            assert taken["incident_id"] == incident.id
            assert taken["acknowledged_by"] == "Bob"
            assert "applies it as soon as its worker takes it" in taken["detail"]
            printed = await asyncio.to_thread(
                CliRunner().invoke,
                cli,
                ["--api-url", served, "--token", TOKEN, "ack", other.id, "--by", "Cara"],
            )
            console = await lead.post(
                f"/console/incidents/{third.id}/ack", data={"csrf": csrf}, follow_redirects=True
            )
            await asyncio.sleep(4)
            # Nothing applied it yet (the worker may have stopped before even the declaration's
            # record was written).
            waiting = await store.get_incident(incident.id)
            assert waiting is None or waiting.acknowledged_at is None

            async with trial.worker():

                async def acknowledged() -> list[str] | None:
                    found = [
                        e.text
                        for e in await store.timeline(incident.id)
                        if e.kind is EventKind.ACKNOWLEDGED
                    ]
                    return found or None

                (text,) = await eventually(acknowledged, within=20)
                await eventually(lambda: _kinds(store, other.id, EventKind.ACKNOWLEDGED))
                cara = await store.get_incident(other.id)
                await eventually(lambda: _kinds(store, third.id, EventKind.ACKNOWLEDGED))
                ada = await store.get_incident(third.id)
                shown = (await api.get(f"/api/v1/incidents/{incident.id}")).json()
                # Bob again, as if his press had not been answered: the first one counted.
                again = await api.post(f"/api/v1/incidents/{incident.id}/ack", json={"by": "Bob"})
                await trial.service.resolve(incident.id, Actor(name="Bob"), "done")
                await trial.service.resolve(other.id, Actor(name="Cara"), "done")
                await trial.service.resolve(third.id, Actor(name="Ada Okafor"), "done")
    finally:
        await store.close()

    assert printed.exit_code == 0, printed.output
    assert printed.stdout.startswith(f"{other.id}  taken at ")
    assert "from Cara; tocsin applies it as soon as its worker takes it" in printed.stdout
    assert cara is not None
    assert cara.acknowledged_by == "Cara"
    assert console.status_code == 202
    assert "<h1>Taken</h1>" in console.text
    assert f"acknowledgement of {third.id} by Ada Okafor taken at" in console.text
    assert ada is not None
    assert ada.acknowledged_by == "Ada Okafor"
    assert shown["acknowledged_by"] == "Bob"
    # Stamped when Bob acted, not when a worker came back four seconds later.
    acknowledged_at = datetime.fromisoformat(shown["acknowledged_at"])
    assert abs((acknowledged_at - pressed).total_seconds()) < 1
    assert acknowledged_at == datetime.fromisoformat(taken["acted_at"])
    assert "tocsin took it" in text
    assert again.status_code == 409
    assert "already acknowledged by Bob" in again.json()["detail"]


async def test_an_acknowledgement_kept_for_later_is_dropped_when_someone_acknowledged_first(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    # A worker's first task may wait out the stopped worker's sticky queue (10 s) first.
    trial = await outage(dev_env, tmp_path, STALL_LEVEL, call_timeout=30.0)
    store, service = trial.store, trial.service

    try:
        async with trial.worker():
            incident = await trial.declare()
            await service.acknowledge(incident.id, Actor(name="Ada"))
            await eventually(lambda: _kinds(store, incident.id, EventKind.ACKNOWLEDGED))
        handle = dev_env.client.get_workflow_handle(workflow_id(incident.id))
        late = AckInput(by=Actor(name="Bob"), incident_id=incident.id, acted_at=utcnow())
        await handle.signal(IncidentWorkflow.acknowledgement_taken, late)
        async with trial.worker():
            await service.post_update(incident.id, "rolling back", Actor(name="Ada"))
            current = await service.current(incident.id)
            await eventually(lambda: _kinds(store, incident.id, EventKind.UPDATE_POSTED), within=20)
            acks = await _kinds(store, incident.id, EventKind.ACKNOWLEDGED)
            await service.resolve(incident.id, Actor(name="Ada"), "done")
    finally:
        await store.close()

    assert current.acknowledged_by == "Ada"
    assert len(acks) == 1


async def _kinds(store: RecordsStore, incident_id: str, kind: EventKind) -> list[str]:
    return [e.text for e in await store.timeline(incident_id) if e.kind is kind]
