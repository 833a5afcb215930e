"""How other processes hand a direct message to a person's pager."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client

from domain.models import Recipient
from domain.notify import Notification
from domain.rules.notify_rules import plan
from workflows.ids import pager_workflow_id
from workflows.pager.models import PageIn, PagerInput
from workflows.pager.workflow import PagerWorkflow


async def hand_to_pager(
    client: Client, task_queue: str, page: Notification, recipient: Recipient, window: timedelta
) -> None:
    """Signal-with-start: the person's pager starts with its first page and bundles what
    arrives while ``window`` is open. The page carries the person's notification rules as
    the roster has them now, without their URLs."""
    steps = plan(recipient.person.rules())
    await client.start_workflow(
        PagerWorkflow.run,
        PagerInput(recipient=recipient),
        id=pager_workflow_id(task_queue, recipient),
        task_queue=task_queue,
        start_signal="page",
        start_signal_args=[PageIn(page=page, window_seconds=window.total_seconds(), steps=steps)],
    )
