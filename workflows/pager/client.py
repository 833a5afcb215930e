"""How other processes hand a direct message to a person's pager."""

from __future__ import annotations

import asyncio
from collections import defaultdict
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
from workflows.slots import waiting_on_temporal

# One signal at a time per pager from this process, carrying every page that arrived for it
# meanwhile: in a storm every incident pages the same person, and Temporal answers
# "Workflow is busy" to a pile of concurrent signals to one workflow.
_HANDING: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
_WAITING: defaultdict[str, list[tuple[PageIn, asyncio.Future[None]]]] = defaultdict(list)


async def hand_to_pager(
    client: Client, task_queue: str, page: Notification, recipient: Recipient, window: timedelta
) -> None:
    """Signal-with-start: the person's pager starts with its first page and bundles what
    arrives while ``window`` is open. The page carries the person's notification rules as
    the roster has them now, without their URLs. It runs on the paging queue, first in line
    (ADR 0022); a pager started before that keeps running where it began, under the same id."""
    steps = plan(recipient.person.rules())
    pager = pager_workflow_id(task_queue, recipient)
    mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    page_in = PageIn(page=page, window_seconds=window.total_seconds(), steps=steps)
    _WAITING[pager].append((page_in, mine))
    async with waiting_on_temporal():
        await _hand(client, task_queue, pager, recipient, mine)


async def _hand(
    client: Client,
    task_queue: str,
    pager: str,
    recipient: Recipient,
    mine: asyncio.Future[None],
) -> None:
    async with _HANDING[pager]:
        if not mine.done():
            batch = _WAITING.pop(pager)
            try:
                await _signal(client, task_queue, pager, recipient, [p for p, _ in batch])
            except asyncio.CancelledError:
                # This activity ran out of time: the others' pages go with the next signal.
                _WAITING[pager][:0] = [(p, w) for p, w in batch if w is not mine]
                raise
            except Exception as exc:
                for _, waiting in batch:
                    if not waiting.done():
                        waiting.set_exception(exc)
            else:
                for _, waiting in batch:
                    if not waiting.done():
                        waiting.set_result(None)
    await mine


async def _signal(
    client: Client, task_queue: str, pager: str, recipient: Recipient, pages: list[PageIn]
) -> None:
    pause = 0.05
    while True:
        try:
            await client.start_workflow(
                PagerWorkflow.run,
                PagerInput(recipient=recipient),
                id=pager,
                task_queue=paging_queue(task_queue),
                priority=PAGES,
                start_signal="page" if len(pages) == 1 else "pages",
                start_signal_args=[pages[0]] if len(pages) == 1 else [pages],
            )
            return
        except RPCError as exc:
            # Busy (another process signalling it too): back off briefly, as the engine's
            # clients do; anything else fails the activity, which retries.
            if exc.status != RPCStatusCode.RESOURCE_EXHAUSTED or pause > 2:
                raise
        await asyncio.sleep(pause)
        pause *= 2


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
