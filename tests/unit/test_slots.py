"""Pages before paperwork in one worker process (``workflows.slots``, ADR 0032): the task
queue's activity slots are all given out while no page is handed over or delivered, and only
the least while one is and for a quiet second after."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from temporalio.worker import SlotPermit

from workflows import slots
from workflows.slots import PageWork, Paperwork


class _Ctx:
    """What the SDK passes; the supplier reads none of it."""

    slot_type = "activity"
    task_queue = "tocsin"
    worker_identity = "test"
    worker_build_id = ""
    worker_deployment_version = None
    is_sticky = False


CTX: Any = _Ctx()
RELEASE: Any = None  # the release's context: read by none of it either


@pytest.fixture(autouse=True)
def short_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slots, "QUIET_SECONDS", 0.05)


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
    assert not third.done()  # not before a quiet moment: the next page may be coming
    await asyncio.wait_for(third, 1)
    assert paperwork.held == 3


async def test_a_page_starting_again_before_the_quiet_moment_keeps_the_paperwork_waiting() -> None:
    pages = PageWork()
    paperwork = Paperwork(pages, least=1, most=5)
    pages.started()
    await reserved(paperwork, 1)
    second = asyncio.create_task(paperwork.reserve_slot(CTX))

    for _ in range(5):  # a storm: each page ends as the next begins
        pages.finished()
        await asyncio.sleep(0.02)
        pages.started()
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


def test_paperwork_is_never_taken_eagerly() -> None:
    """An activity a workflow task schedules would otherwise start before that task's pages."""
    assert Paperwork(PageWork()).try_reserve_slot(CTX) is None


def test_the_least_must_be_at_least_one_and_at_most_the_most() -> None:
    with pytest.raises(ValueError, match="least"):
        Paperwork(PageWork(), least=0, most=3)
    with pytest.raises(ValueError, match="least"):
        Paperwork(PageWork(), least=4, most=3)
