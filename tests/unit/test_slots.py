"""Pages before paperwork in one worker process (``workflows.slots``, ADR 0032): the task
queue's activity slots are all given out while no page is handed over or delivered, and only
the least while pages have kept the process busy for most of the last second or so."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any, cast

import pytest
from temporalio.common import Priority
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    SlotPermit,
    SlotReleaseContext,
    StartActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)
from temporalio.workflow import ActivityCancellationType, ActivityHandle

from workflows import slots
from workflows.slots import CountingPages, EagerPages, PageWork, Paperwork, waiting_on_temporal


class _Ctx:
    """What the SDK passes; the supplier reads none of it."""

    slot_type = "activity"
    task_queue = "tocsin"
    worker_identity = "test"
    worker_build_id = ""
    worker_deployment_version = None
    is_sticky = False


CTX: Any = _Ctx()
# A paperwork slot's release (the SDK passes back the permit it was given).
RELEASE = SlotReleaseContext(slot_info=None, permit=SlotPermit())


@pytest.fixture(autouse=True)
def short_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slots, "WINDOW_SECONDS", 0.05)


async def reserved(paperwork: Paperwork, count: int) -> list[SlotPermit]:
    return [await asyncio.wait_for(paperwork.reserve_slot(CTX), 1) for _ in range(count)]


async def test_with_no_page_under_way_every_slot_is_given() -> None:
    paperwork = Paperwork(PageWork(), least=2, most=5)

    await reserved(paperwork, 5)

    waiting = asyncio.create_task(paperwork.reserve_slot(CTX))
    await asyncio.sleep(0.1)
    assert not waiting.done()  # the most, and no more
    paperwork.release_slot(RELEASE)
    await asyncio.wait_for(waiting, 1)


async def test_while_a_page_is_under_way_only_the_least_are_given() -> None:
    pages = PageWork()
    paperwork = Paperwork(pages, least=2, most=5)
    pages.started()

    await reserved(paperwork, 2)
    third = asyncio.create_task(paperwork.reserve_slot(CTX))
    await asyncio.sleep(0.1)
    assert not third.done()

    pages.finished()
    await asyncio.sleep(0.01)
    assert not third.done()  # not at once: in a storm the next page is usually coming
    await asyncio.wait_for(third, 1)
    assert paperwork.held == 3


async def test_pages_following_each_other_keep_the_paperwork_waiting() -> None:
    pages = PageWork()
    paperwork = Paperwork(pages, least=1, most=5)
    pages.started()
    await reserved(paperwork, 1)
    second = asyncio.create_task(paperwork.reserve_slot(CTX))

    for _ in range(10):  # a storm: each page begins before the one before it ends
        pages.started()
        await asyncio.sleep(0.02)
        pages.finished()
    assert not second.done()

    pages.finished()
    await asyncio.wait_for(second, 1)


async def test_a_slot_released_from_another_thread_wakes_a_waiting_reservation() -> None:
    paperwork = Paperwork(PageWork(), least=1, most=1)
    await reserved(paperwork, 1)
    waiting = asyncio.create_task(paperwork.reserve_slot(CTX))
    await asyncio.sleep(0.05)

    # The SDK releases slots from its own threads.
    releaser = threading.Thread(target=paperwork.release_slot, args=(RELEASE,))
    releaser.start()
    releaser.join()

    await asyncio.wait_for(waiting, 1)


async def test_a_page_started_eagerly_takes_a_slot_beyond_the_paperworks() -> None:
    """ADR 0037: only pages are asked for eagerly; one is never held back by the paperwork,
    and takes none of the paperwork's slots."""
    pages = PageWork()
    paperwork = Paperwork(pages, least=1, most=1)
    await reserved(paperwork, 1)

    page = paperwork.try_reserve_slot(CTX)
    assert page is not None
    pages.started()
    assert paperwork.held == 1
    paperwork.release_slot(SlotReleaseContext(slot_info=None, permit=page))
    assert paperwork.held == 1
    paperwork.release_slot(RELEASE)
    assert paperwork.held == 0


def test_the_least_must_be_at_least_one_and_at_most_the_most() -> None:
    with pytest.raises(ValueError, match="least"):
        Paperwork(PageWork(), least=0, most=3)
    with pytest.raises(ValueError, match="least"):
        Paperwork(PageWork(), least=4, most=3)


class _Paging(ActivityInboundInterceptor):
    """A page that waits on Temporal (a busy pager) while paperwork asks for a slot."""

    def __init__(self, paperwork: Paperwork) -> None:
        super().__init__(cast(ActivityInboundInterceptor, None))
        self.paperwork = paperwork
        self.while_counted: asyncio.Task[SlotPermit] | None = None

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        self.while_counted = asyncio.create_task(self.paperwork.reserve_slot(CTX))
        await asyncio.sleep(0.1)
        assert not self.while_counted.done()
        async with waiting_on_temporal():
            await asyncio.wait_for(self.while_counted, 1)
        return "handed"


async def test_a_page_waiting_on_temporal_lets_the_paperwork_in() -> None:
    pages = PageWork()
    paperwork = Paperwork(pages, least=1, most=3)
    await reserved(paperwork, 1)
    paging = _Paging(paperwork)

    counted = CountingPages(pages).intercept_activity(paging)

    assert await counted.execute_activity(cast(ExecuteActivityInput, None)) == "handed"
    assert paperwork.held == 2
    assert pages.running == 0


async def test_waiting_on_temporal_outside_a_page_changes_nothing() -> None:
    pages = PageWork()
    pages.started()  # a page of another task
    async with waiting_on_temporal():
        assert pages.running == 1
    assert pages.running == 1


async def test_short_pages_now_and_then_leave_the_paperwork_its_slots() -> None:
    """Pages that mostly wait on Temporal run in short bursts: paperwork goes between them."""
    pages = PageWork()
    paperwork = Paperwork(pages, least=1, most=5)
    for _ in range(5):
        pages.started()
        await asyncio.sleep(0.001)
        pages.finished()
        await asyncio.sleep(0.05)
    assert pages.busy() < slots.BUSY_SHARE

    await reserved(paperwork, 5)


class _Scheduling(WorkflowOutboundInterceptor):
    """What the SDK would turn into commands: whether each activity asks to start eagerly."""

    def __init__(self) -> None:
        super().__init__(cast(WorkflowOutboundInterceptor, None))
        self.eager: dict[str, bool] = {}

    def start_activity(self, input: StartActivityInput) -> ActivityHandle[Any]:
        self.eager[input.activity] = not input.disable_eager_execution
        return cast(ActivityHandle[Any], None)


class _Workflow(WorkflowInboundInterceptor):
    def __init__(self) -> None:
        super().__init__(cast(WorkflowInboundInterceptor, None))
        self.outbound: WorkflowOutboundInterceptor | None = None

    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        self.outbound = outbound


def _activity(name: str) -> StartActivityInput:
    return StartActivityInput(
        activity=name, args=[], activity_id=None, task_queue=None,
        schedule_to_close_timeout=None, schedule_to_start_timeout=None,
        start_to_close_timeout=timedelta(minutes=1), heartbeat_timeout=None, retry_policy=None,
        cancellation_type=ActivityCancellationType.TRY_CANCEL, headers={},
        disable_eager_execution=False, versioning_intent=None, summary=None,
        priority=Priority.default, arg_types=None, ret_type=None,
    )  # fmt: skip


def test_only_a_pages_first_hop_asks_to_start_eagerly() -> None:
    """ADR 0037: an effects batch or a statement draft started at once would run before the
    pages its workflow task decided; through the queue they come after them."""
    workflow, scheduling = _Workflow(), _Scheduling()
    eager = EagerPages(PageWork()).workflow_interceptor_class(
        cast(WorkflowInterceptorClassInput, None)
    )
    eager(workflow).init(scheduling)
    assert workflow.outbound is not None

    for name in ("hand_pages", "apply_effects", "draft_body", "deliver_pages"):
        workflow.outbound.start_activity(_activity(name))

    assert scheduling.eager == {
        "hand_pages": True,
        "apply_effects": False,
        "draft_body": False,
        "deliver_pages": False,
    }
