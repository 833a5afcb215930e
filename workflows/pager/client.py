"""How other processes hand a direct message to a person's pager."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from domain.models import Person, Recipient
from domain.notify import Notification
from domain.rules.notify_rules import plan
from workflows.ids import pager_workflow_id, person_pager_id
from workflows.pager.models import PageIn, PagerInput, StopIn
from workflows.pager.workflow import PagerWorkflow
from workflows.queues import PAGES, paging_queue


async def hand_to_pager(
    client: Client, task_queue: str, page: Notification, recipient: Recipient, window: timedelta
) -> None:
    """Signal-with-start: the person's pager starts with its first page and bundles what
    arrives while ``window`` is open. The page carries the person's notification rules as
    the roster has them now, without their URLs. It runs on the paging queue, first in line
    (ADR 0022); a pager started before that keeps running where it began, under the same id."""
    steps = plan(recipient.person.rules())
    await client.start_workflow(
        PagerWorkflow.run,
        PagerInput(recipient=recipient),
        id=pager_workflow_id(task_queue, recipient),
        task_queue=paging_queue(task_queue),
        priority=PAGES,
        start_signal="page",
        start_signal_args=[PageIn(page=page, window_seconds=window.total_seconds(), steps=steps)],
    )


async def stop_pages(
    client: Client, task_queue: str, incident_id: str, people: list[Person]
) -> None:
    """The incident is acknowledged (or over): the pagers of the people it reached drop its
    later steps now, rather than skipping each when its timer fires."""
    for person in people:
        handle = client.get_workflow_handle_for(
            PagerWorkflow.run, person_pager_id(task_queue, person)
        )
        try:
            await handle.signal(PagerWorkflow.stop, StopIn(incident_id=incident_id))
        except RPCError as exc:
            if exc.status is not RPCStatusCode.NOT_FOUND:
                raise
