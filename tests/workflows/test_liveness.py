"""A long activity of a live worker is not taken for dead: it beats while it runs, so the
short heartbeat timeout that lets a killed worker's page be retried in seconds never cuts a
slow send short (workflows/liveness.py)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.client import WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, TimeoutError, TimeoutType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from workflows.liveness import Heartbeating

BEAT = timedelta(seconds=1)


@activity.defn(name="slow_send")
async def slow_send(seconds: float) -> str:
    # Waits as a send paced by Slack does, and never beats on its own.
    await asyncio.sleep(seconds)
    return "sent"


@workflow.defn(name="SlowSend")
class SlowSend:
    @workflow.run
    async def run(self, seconds: float) -> str:
        return await workflow.execute_activity(
            slow_send,
            seconds,
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=BEAT,
            retry_policy=RetryPolicy(maximum_attempts=1),
        )


async def _run(env: WorkflowEnvironment, interceptors: list[Heartbeating]) -> str:
    queue = f"liveness-{uuid.uuid4()}"
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[SlowSend],
        activities=[slow_send],
        workflow_runner=UnsandboxedWorkflowRunner(),
        interceptors=interceptors,
    ):
        return await env.client.execute_workflow(
            SlowSend.run, 4 * BEAT.total_seconds(), id=queue, task_queue=queue
        )


async def test_a_send_longer_than_the_heartbeat_timeout_completes_on_a_live_worker(
    dev_env: WorkflowEnvironment,
) -> None:
    assert await _run(dev_env, [Heartbeating()]) == "sent"


async def test_without_the_beats_the_same_send_is_taken_for_dead(
    dev_env: WorkflowEnvironment,
) -> None:
    # The control: the test above would pass for nothing if the server never timed it out.
    with pytest.raises(WorkflowFailureError) as failed:
        await _run(dev_env, [])
    gave_up = failed.value.cause
    assert isinstance(gave_up, ActivityError), gave_up
    assert isinstance(gave_up.cause, TimeoutError), gave_up.cause
    timeout = gave_up.cause
    assert timeout.type is TimeoutType.HEARTBEAT
