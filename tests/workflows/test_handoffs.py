"""The handoff process on the time-skipping server: it sleeps until the next handoff, a new
override wakes it, and both people hear of the handoff."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.models import Actor, Declaration, IncidentType, Level
from testkit.oncall import scheduled_playbooks
from testkit.waiting import eventually
from tests.conftest import Stack, open_stack
from workflows.ids import handoff_workflow_id
from workflows.oncall.client import start_handoffs, tell_handoffs

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
async def scheduled(ts_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    async for opened in open_stack(ts_env, tmp_path, scheduled_playbooks(tmp_path / "pb")):
        yield opened
        with contextlib.suppress(RPCError):  # a test that never started it
            await opened.client.get_workflow_handle(handoff_workflow_id("support")).terminate()


def _local(at: datetime) -> str:
    return f"{at.astimezone(BERLIN):%a %d %b %H:%M %Z}"


async def test_an_override_made_while_it_sleeps_is_announced_at_its_start(
    scheduled: Stack,
) -> None:
    stack = scheduled
    incident = await stack.service.declare(
        Declaration(
            title="Checkout failing",
            level=Level.B,
            type=IncidentType.SERVICE_OUTAGE,
            declared_by=Actor(name="Alice"),
            service="checkout",
        )
    )

    async def paged() -> bool:
        found = await stack.store.get_incident(incident.id)
        return found is not None and bool(found.paged)

    await eventually(paged)
    await start_handoffs(stack.client, stack.task_queue, ["support"])
    now = await stack.env.get_current_time()
    start = (now + timedelta(minutes=10)).replace(second=0, microsecond=0)
    end = start + timedelta(hours=1)
    await stack.store.oncall.add_override("support", "Ben Lindqvist", start, end, "Chen Wei",
                                          None, now)  # fmt: skip
    assert await tell_handoffs(stack.client, "support", "override made")
    await stack.env.sleep(start - now + timedelta(seconds=1))

    def told_ben() -> list[str]:
        return [t for name, t in stack.notifier.told if name == "Ben Lindqvist"]

    await eventually(told_ben)
    assert told_ben() == [
        f"You are on call for technical support (primary) from {_local(start)} until "
        f"{_local(end)}. Open incidents you now hold: {incident.id} (level B, triggered): "
        "Checkout failing."
    ]
    handed = [t for _, t in stack.notifier.told if t.startswith("Your on-call shift")]
    assert handed[-1].startswith(
        f"Your on-call shift for technical support (primary) ended at {_local(start)}; "
        f"Ben Lindqvist holds it now. Open incidents handed over: {incident.id}"
    )
    # At the override's end Ben hands back to whoever the rotation has.
    await stack.env.sleep(end - start)

    def ben_handed_back() -> bool:
        return any(
            name == "Ben Lindqvist" and t.startswith("Your on-call shift")
            for name, t in stack.notifier.told
        )

    await eventually(ben_handed_back)


async def test_a_schedule_not_in_the_file_ends_its_process(scheduled: Stack) -> None:
    await start_handoffs(scheduled.client, scheduled.task_queue, ["nights"])
    handle = scheduled.client.get_workflow_handle(handoff_workflow_id("nights"))
    assert await handle.result() is None
