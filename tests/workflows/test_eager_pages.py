"""ADR 0037 on a real dev server, run as `tocsin up` runs it: the worker whose workflow task
decided a page hands it over at once, in the server's answer to that task, whatever
paperwork holds the task queue's slots."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from domain.models import Actor, Declaration, Incident, IncidentType, Level, TimelineEvent
from testkit.playbooks import playbook_dir, with_bundle_window
from testkit.waiting import eventually
from tests.conftest import Stack, open_stack
from workflows import worker
from workflows.ids import workflow_id
from workflows.slots import Paperwork

ADA = "Ada Okafor"  # technical support primary in the bundled roster: leads service outages


def declaration(title: str) -> Declaration:
    return Declaration(
        title=title,
        level=Level.B,
        type=IncidentType.SERVICE_OUTAGE,
        declared_by=Actor(name="Alice"),
    )


def paged(stack: Stack, incident: Incident) -> bool:
    return any(
        page.incident.id == incident.id
        for pages in stack.notifier.messages_to(ADA)
        for page in pages
    )


async def hand_pages_queues(stack: Stack, incident: Incident) -> list[str]:
    history = await stack.client.get_workflow_handle(workflow_id(incident.id)).fetch_history()
    return [
        e.activity_task_scheduled_event_attributes.task_queue.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == "hand_pages"
    ]


@pytest.fixture
async def one_slot(
    dev_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Stack]:
    """A worker whose task queue gives paperwork one slot in all, pages unbundled."""
    monkeypatch.setattr(worker, "Paperwork", functools.partial(Paperwork, least=1, most=1))
    playbooks = with_bundle_window(playbook_dir(tmp_path / "playbooks"), "0s")
    async for opened in open_stack(dev_env, tmp_path, playbooks):
        yield opened


async def test_a_page_goes_out_while_paperwork_holds_every_slot_of_the_task_queue(
    one_slot: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = one_slot
    release = asyncio.Event()
    writing = asyncio.Event()
    write = stack.store.apply

    async def stuck(incident: Incident, events: Sequence[TimelineEvent]) -> None:
        writing.set()
        await release.wait()
        await write(incident, events)

    # The first incident's effects batch takes the one slot and keeps it.
    monkeypatch.setattr(stack.store, "apply", stuck)
    try:
        first = await stack.service.declare(declaration("Checkout failing"))
        await asyncio.wait_for(writing.wait(), 30)
        second = await stack.service.declare(declaration("Search failing"))

        await eventually(
            lambda: paged(stack, first) and paged(stack, second), what="both leads paged"
        )
        # The second incident's paperwork still waits for the slot the first one holds.
        assert await stack.store.get_incident(second.id) is None
        assert await hand_pages_queues(stack, second) == [stack.task_queue]
    finally:
        # Released on a failure too: the worker stops only once its activities end.
        release.set()

    async def both_recorded() -> bool:
        return all([await stack.store.get_incident(i.id) for i in (first, second)])

    await eventually(both_recorded, what="both incidents recorded")
