"""Nothing silently dropped across an outage: with no worker running past the escalation
step and the deadline, the step fires late when a worker comes back — marked late on the
timeline, paging its own tier — and then the breach. An acknowledgement given while no worker
runs counts from the moment the person gave it.

On the dev server, in real time: the time-skipping server stops skipping while a workflow
task waits with no worker to take it, which is the very situation tried here."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from adapters.clock import utcnow
from adapters.records import RecordsStore, migrate
from domain.errors import TemporalUnavailable
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
from tests.conftest import RecordingNotifier, outbound
from workflows.incident.client import IncidentService
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


async def test_an_acknowledgement_given_while_the_worker_stalled_counts_from_when_it_was_given(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    trial = await outage(dev_env, tmp_path, STALL_LEVEL, call_timeout=1.0, clock=utcnow)
    store, service = trial.store, trial.service

    try:
        async with trial.worker():
            incident = await trial.declare()
        # The worker is gone: the responder's acknowledgement gets its 503 (TemporalUnavailable)
        # within the time bound, while Temporal keeps it for the next worker.
        pressed = utcnow()
        started = time.monotonic()
        with contextlib.suppress(TemporalUnavailable):
            await service.acknowledge(incident.id, Actor(name="Bob"))
        assert time.monotonic() - started < 5
        await asyncio.sleep(4)
        async with trial.worker():

            async def acknowledged() -> list[str] | None:
                found = [
                    e.text
                    for e in await store.timeline(incident.id)
                    if e.kind is EventKind.ACKNOWLEDGED
                ]
                return found or None

            (text,) = await eventually(acknowledged, within=20)
            record = await store.get_incident(incident.id)
            await service.resolve(incident.id, Actor(name="Bob"), "done")
    finally:
        await store.close()

    assert record is not None
    assert record.acknowledged_at is not None
    # Stamped when Bob acted, not when a worker came back four seconds later.
    assert abs((record.acknowledged_at - pressed).total_seconds()) < 1
    assert "tocsin took it" in text
