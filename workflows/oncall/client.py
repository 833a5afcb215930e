"""What the API and the worker call to start each schedule's handoff process and tell it of
a change (an edited schedules.yaml, an override made or taken back)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from playbooks.roster import RosterSource
from workflows.ids import handoff_workflow_id
from workflows.oncall.models import ChangedInput, HandoffInput
from workflows.oncall.workflow import HandoffWorkflow

log = logging.getLogger(__name__)
# How often the worker looks at schedules.yaml for an edit (the handoffs themselves wait on
# Temporal timers).
WATCH_EVERY = 30.0


async def start_handoffs(client: Client, task_queue: str, schedules: list[str]) -> None:
    """One running handoff process per schedule; those already running are left alone."""
    for name in schedules:
        await client.start_workflow(
            HandoffWorkflow.run,
            HandoffInput(schedule=name),
            id=handoff_workflow_id(name),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )


async def tell_handoffs(client: Client, schedule: str, why: str) -> bool:
    """Wake the schedule's process to look again; False if it is not running."""
    handle = client.get_workflow_handle_for(HandoffWorkflow.run, handoff_workflow_id(schedule))
    try:
        await handle.signal(HandoffWorkflow.changed, ChangedInput(why=why))
    except RPCError:
        return False
    return True


async def watch_schedules(
    client: Client, task_queue: str, roster: RosterSource, stop: asyncio.Event
) -> None:
    """Start every schedule's handoff process, then tell them of each edit of the file."""
    seen = None
    while not stop.is_set():
        schedules = roster.current().schedules
        if schedules != seen:
            try:
                await start_handoffs(client, task_queue, sorted(schedules))
                if seen is not None:
                    for name in schedules:
                        await tell_handoffs(client, name, "schedules.yaml changed")
                seen = schedules
            except RPCError as exc:
                log.warning("handoff processes not reached, trying again: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), WATCH_EVERY)
