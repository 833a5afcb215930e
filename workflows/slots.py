"""Pages before paperwork inside a worker process (ADR 0032).

Task priority orders what waits in Temporal's queues, and the paging queue has slots of its
own (ADR 0022), but one worker process runs both queues' activities on one event loop and
one core. In a storm the paperwork (records, channels, cards, statements: most of an
incident's CPU) took the CPU the pages needed: the paged rate was 0.43x a bare workflow's
with up to 100 paperwork activities at once per process, 0.82x with one
(`bench/ANALYSIS.md`, 2026-12-05). So the main queue's activity slots are given out by
``Paperwork``: all of them while pages keep this process busy for less than a tenth of
the last second or so, only ``least`` otherwise. The activities it holds back wait in
Temporal's queue, in their priority order, for this worker or any other with a free slot.

A page's first hop (``hand_pages``) is the one activity a workflow task starts at once in the
worker that ran it (ADR 0037): ``EagerPages`` asks Temporal for nothing else eagerly, and
``Paperwork`` gives such a page a slot whatever the paperwork holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import Any

from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    CustomSlotSupplier,
    ExecuteActivityInput,
    Interceptor,
    SlotMarkUsedContext,
    SlotPermit,
    SlotReleaseContext,
    SlotReserveContext,
    StartActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)
from temporalio.workflow import ActivityHandle

# The SDK's default for a worker's activity slots.
MOST_PAPERWORK = 100
# Paperwork that goes on whatever the pages do: an activity that runs long (a what-if replay)
# must not hold back every other incident's records while pages go out.
LEAST_PAPERWORK = 2
# The page work's share of the recent past, as a moving average over about this long...
WINDOW_SECONDS = 1.0
# ...above which paperwork keeps to its least: at a half, the storm's pages, often waiting
# on Slack and the records, left room for paperwork often enough to be paged at 0.63x bare.
BUSY_SHARE = 0.1
# What a workflow task on the task queue may start at once in the worker that ran it: the
# page's first hop, which decides nothing of the incident and is short (ADR 0037).
EAGER = frozenset({"hand_pages"})


class PageWork:
    """The pages running in this process (the paging queue's activities, and the pages'
    first hops, started eagerly on the task queue), counted on its event loop, and the share
    of the last second or so during which one was (``busy``). Paperwork waits
    while that share is high, not merely while a page runs: in a storm the next page is
    usually on its way when one ends, and paperwork let in between two pages would hold the
    loop when the next one comes. A page waiting on Temporal (``waiting_on_temporal``) is
    not counted meanwhile: it needs no CPU, and in a storm handed to one busy pager the pages
    would otherwise hold every incident's paperwork back for as long as the storm lasts."""

    def __init__(self) -> None:
        self.running = 0
        self._share = 0.0
        self._at = time.monotonic()
        self._listeners: list[Paperwork] = []

    def listen(self, paperwork: Paperwork) -> None:
        self._listeners.append(paperwork)

    def busy(self) -> float:
        self._account()
        return self._share

    def quiet(self) -> bool:
        return self.running == 0 and self.busy() < BUSY_SHARE

    def started(self) -> None:
        self._account()
        self.running += 1

    def finished(self) -> None:
        self._account()
        self.running -= 1
        if self.running == 0:
            # When the share will have fallen below BUSY_SHARE, if nothing starts meanwhile.
            until = (
                WINDOW_SECONDS * math.log(self._share / BUSY_SHARE)
                if self._share > BUSY_SHARE
                else 0.0
            )
            asyncio.get_running_loop().call_later(until + 0.01, self._tell)

    def _account(self) -> None:
        now = time.monotonic()
        kept = math.exp(-(now - self._at) / WINDOW_SECONDS)
        self._share = self._share * kept + (1.0 if self.running else 0.0) * (1 - kept)
        self._at = now

    def _tell(self) -> None:
        for paperwork in self._listeners:
            paperwork.changed()


_COUNTED: ContextVar[PageWork | None] = ContextVar("page_work", default=None)


@contextlib.asynccontextmanager
async def waiting_on_temporal() -> AsyncIterator[None]:
    """Around a page's wait for Temporal (a pager busy with other signals): the page is
    not counted as under way meanwhile. Outside a counted activity it does nothing."""
    work = _COUNTED.get()
    if work is None:
        yield
        return
    work.finished()
    try:
        yield
    finally:
        work.started()


class CountingPages(Interceptor):
    """The paging worker's interceptor: each activity it runs is counted in ``work``."""

    def __init__(self, work: PageWork) -> None:
        self._work = work

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Counted(next, self._work)


class EagerPages(Interceptor):
    """The task queue's worker's interceptor (ADR 0037). Its workflows ask Temporal to start
    only the activities in ``EAGER`` at once in this worker (the server hands such an activity
    back in its answer to the workflow task, with no trip through the queue); everything
    else waits in the queue for ``Paperwork``'s slots. The eager ones are pages: counted in
    ``work`` while they run, as the paging worker's are."""

    def __init__(self, work: PageWork) -> None:
        self._work = work

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Counted(next, self._work, only=EAGER)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _EagerInbound


class _EagerInbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_EagerOutbound(outbound))


class _EagerOutbound(WorkflowOutboundInterceptor):
    def start_activity(self, input: StartActivityInput) -> ActivityHandle[Any]:
        # Whether a task is asked for eagerly is not in the workflow's history: replays and
        # workers of any version agree on the commands either way.
        input.disable_eager_execution = input.activity not in EAGER
        return super().start_activity(input)


class _Counted(ActivityInboundInterceptor):
    def __init__(
        self,
        next: ActivityInboundInterceptor,
        work: PageWork,
        only: frozenset[str] | None = None,
    ) -> None:
        super().__init__(next)
        self._work = work
        self._only = only

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        if self._only is not None and activity.info().activity_type not in self._only:
            return await self.next.execute_activity(input)
        self._work.started()
        token = _COUNTED.set(self._work)
        try:
            return await self.next.execute_activity(input)
        finally:
            _COUNTED.reset(token)
            self._work.finished()


class Paperwork(CustomSlotSupplier):
    """The main queue's activity slots: up to ``most``; only ``least`` while ``pages`` runs
    any. The SDK reserves a slot before it polls for a task, so a slot held back is a task
    left in Temporal's queue. Reservations run on the worker's event loop; releases may come
    from the SDK's own threads, hence the lock and the thread-safe wake-up."""

    def __init__(
        self, pages: PageWork, *, least: int = LEAST_PAPERWORK, most: int = MOST_PAPERWORK
    ) -> None:
        if not 1 <= least <= most:
            raise ValueError(f"paperwork slots: need 1 <= least ({least}) <= most ({most})")
        self._pages = pages
        self._least = least
        self._most = most
        self._held = 0
        self._lock = threading.Lock()
        self._changed = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        pages.listen(self)

    @property
    def held(self) -> int:
        return self._held

    def changed(self) -> None:
        """Something that may free a slot happened on the event loop."""
        self._changed.set()

    async def reserve_slot(self, ctx: SlotReserveContext) -> SlotPermit:
        self._loop = asyncio.get_running_loop()
        while True:
            # Cleared and checked with no await between: a wake-up cannot fall in a gap.
            self._changed.clear()
            if self._take():
                return SlotPermit()
            await self._changed.wait()

    def try_reserve_slot(self, ctx: SlotReserveContext) -> SlotPermit | None:
        """A slot for an activity a workflow task asks to start eagerly in this worker. Only
        pages are asked for so (``EagerPages``): no paperwork starts before the pages its
        workflow task decided, and a page is never held back, whatever the paperwork holds.
        Its slot is not counted against the paperwork's."""
        return _PageSlot()

    def mark_slot_used(self, ctx: SlotMarkUsedContext) -> None:
        return

    def release_slot(self, ctx: SlotReleaseContext) -> None:
        if isinstance(ctx.permit, _PageSlot):
            return
        with self._lock:
            self._held -= 1
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._changed.set)

    def _take(self) -> bool:
        with self._lock:
            free = self._held < self._least or (self._held < self._most and self._pages.quiet())
            if free:
                self._held += 1
            return free


class _PageSlot(SlotPermit):
    """A slot given to an eager page, outside the paperwork's count."""
