"""What the API and the worker call: a beat (signal-with-start), every configured monitor
started (and every other one stopped), and each monitor's state read."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from domain.heartbeats import Heartbeats, Monitor
from workflows.heartbeats.models import BeatIn, HeartbeatInput, HeartbeatView
from workflows.heartbeats.workflow import HeartbeatWorkflow
from workflows.ids import heartbeat_workflow_id

__all__ = ["HeartbeatView", "beat", "start_monitors", "view"]

log = logging.getLogger(__name__)


async def beat(client: Client, task_queue: str, monitor: Monitor, at: datetime) -> None:
    await client.start_workflow(
        HeartbeatWorkflow.run,
        HeartbeatInput(monitor=monitor),
        id=heartbeat_workflow_id(monitor.name),
        task_queue=task_queue,
        start_signal="beat",
        start_signal_args=[BeatIn(at=at, monitor=monitor)],
    )


async def start_monitors(client: Client, task_queue: str, heartbeats: Heartbeats) -> None:
    """Every configured monitor runs from now on, so one that never beats alarms too; one taken
    out of the configuration stops, or it would alarm about the beats nobody sends it now."""
    configured = {heartbeat_workflow_id(monitor.name) for monitor in heartbeats.monitors}
    for monitor in heartbeats.monitors:
        await client.start_workflow(
            HeartbeatWorkflow.run,
            HeartbeatInput(monitor=monitor),
            id=heartbeat_workflow_id(monitor.name),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    for workflow_id in await _running(client, task_queue):
        if workflow_id not in configured:
            with contextlib.suppress(RPCError):  # it ended meanwhile
                await client.get_workflow_handle(workflow_id).terminate(
                    reason="its monitor is no longer in heartbeats.yaml"
                )
            log.info("heartbeat monitor %s stopped: no longer configured", workflow_id)


async def _running(client: Client, task_queue: str) -> list[str]:
    """The monitors running on this task queue. Temporal's time-skipping test server lists
    nothing (it has no visibility store): there, none."""
    query = (
        f"WorkflowType = '{HeartbeatWorkflow.__name__}' AND ExecutionStatus = 'Running' "
        f"AND TaskQueue = '{task_queue}'"
    )
    try:
        return [execution.id async for execution in client.list_workflows(query)]
    except RPCError as exc:
        if exc.status is RPCStatusCode.UNIMPLEMENTED:
            return []
        raise


async def view(client: Client, name: str) -> HeartbeatView | None:
    """The monitor's state; None when its process has not started yet."""
    handle = client.get_workflow_handle_for(HeartbeatWorkflow.run, heartbeat_workflow_id(name))
    try:
        described = await handle.describe()
        if described.status is not WorkflowExecutionStatus.RUNNING:
            return None
        return await handle.query(HeartbeatWorkflow.view)
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return None
        raise
