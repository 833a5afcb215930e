"""The worker's heap trimmer: free pages go back to the system once the process is quiet."""

from __future__ import annotations

import asyncio
import gc

from adapters.heap import HeapTrimmer, glibc_trim, resident_bytes

MIB = 1 << 20


def test_glibc_trim_gives_back_the_pages_a_burst_left_free() -> None:
    trim = glibc_trim()
    assert trim is not None, "this project's images and CI run on glibc"
    # 40 MiB in chunks malloc serves from its heap, then all but one in 64 freed: the pages
    # in between are free, but the live chunks above them keep them resident.
    chunks = [bytes(1000) + bytes([i % 256]) for i in range(40_000)]
    kept = chunks[::64]
    del chunks
    # The trimmer's own reading of the process's RSS, so the test checks it too.
    before = resident_bytes()
    trim()
    after = resident_bytes()
    assert len(kept) == 625
    assert before - after > 20 * MIB, (before, after)


class Clock:
    """The process's CPU time, as the test says the process spent it."""

    def __init__(self) -> None:
        self.used = 0.0

    def __call__(self) -> float:
        return self.used


async def trimmed(trimmer: HeapTrimmer, clock: Clock, spent: list[float]) -> list[bool]:
    """Whether the trimmer trimmed after each interval in which the process spent ``spent``
    CPU seconds (the intervals are 10 s)."""
    seen = []
    for seconds in spent:
        clock.used += seconds
        seen.append(await trimmer.tick())
    return seen


async def test_trims_once_the_work_is_over_and_not_while_it_runs() -> None:
    trims: list[int] = []
    clock = Clock()
    trimmer = HeapTrimmer(
        lambda: trims.append(1), every=10, after_work=2.0, cpu=clock, rss=lambda: MIB
    )
    # Busy three intervals, quiet two, busy, quiet.
    seen = await trimmed(trimmer, clock, [5.0, 8.0, 1.0, 0.1, 0.0, 3.0, 0.2])
    # Not while busy; once on the first quiet interval; not again until more work came.
    assert seen == [False, False, False, True, False, False, True]
    assert len(trims) == trimmer.trims == 2


async def test_a_process_that_did_little_is_not_trimmed() -> None:
    clock = Clock()
    trimmer = HeapTrimmer(lambda: None, every=10, after_work=2.0, cpu=clock, rss=lambda: MIB)
    assert await trimmed(trimmer, clock, [0.4, 0.3, 0.4, 0.0, 0.3]) == [False] * 5


async def test_memory_that_came_back_after_a_trim_goes_at_the_next_quiet_interval() -> None:
    """Measured after a burst of 1,000 incidents (bench/ANALYSIS.md): a trim took a worker
    from 293 to 253 MiB, and within the next ten seconds, on 0.4 s of CPU, it held 318 MiB
    again, all of it free (a trim by hand then gave back 66 MiB). Too little CPU to count as
    work, and the trimmer waited for the next burst."""
    clock = Clock()
    resident = [250 * MIB]
    trimmer = HeapTrimmer(
        lambda: resident.__setitem__(0, 250 * MIB),
        every=10,
        after_work=2.0,
        cpu=clock,
        rss=lambda: resident[0],
        regrown=8 * MIB,
    )
    assert await trimmed(trimmer, clock, [5.0, 0.1]) == [False, True]
    resident[0] = 318 * MIB
    assert await trimmed(trimmer, clock, [0.4, 0.1]) == [True, False]
    # Grown by less than ``regrown`` since: left alone.
    resident[0] = 255 * MIB
    assert await trimmed(trimmer, clock, [0.1, 0.1]) == [False, False]
    assert trimmer.trims == 2


async def test_the_loop_checks_every_interval_until_stopped() -> None:
    clock = Clock()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # The trim runs in a thread: it stops the loop through the event loop.
    trimmer = HeapTrimmer(
        lambda: loop.call_soon_threadsafe(stop.set), every=0.01, after_work=2.0, cpu=clock
    )
    clock.used = 5.0  # the work before the loop starts: its first quiet interval trims
    await asyncio.wait_for(trimmer.run(stop), timeout=5)
    assert trimmer.trims == 1


async def test_without_malloc_trim_the_trimmer_stops_at_once() -> None:
    trimmer = HeapTrimmer(None)
    await asyncio.wait_for(trimmer.run(asyncio.Event()), timeout=1)
    assert trimmer.trims == 0


async def test_cycles_an_evicted_workflow_left_are_collected_before_the_trim() -> None:
    # An evicted workflow is a cycle (its event loop, its tasks and their frames); nothing
    # collects it in a quiet process, so its memory would stay in the heap the trim reads.
    order: list[str] = []
    clock = Clock()
    trimmer = HeapTrimmer(
        lambda: order.append("trim"),
        collect=lambda: order.append("collect"),
        every=10,
        cpu=clock,
        rss=lambda: MIB,
    )
    assert await trimmed(trimmer, clock, [5.0, 0.1]) == [False, True]
    assert order == ["collect", "trim"]


async def test_a_quiet_process_gives_back_what_unreachable_cycles_held() -> None:
    class Instance:
        """An evicted workflow: it refers to itself, so only the collector frees it."""

        def __init__(self) -> None:
            self.me = self
            self.state = [bytes(1000) + bytes([i % 256]) for i in range(30_000)]

    gc.disable()  # the collector runs when the trimmer says, not when the test allocates
    try:
        instance = Instance()
        del instance
        clock = Clock()
        trimmer = HeapTrimmer(glibc_trim(), every=10, cpu=clock)
        before = resident_bytes()
        # A burst's work, then a quiet interval: the trimmer's own path, collector and trim.
        assert await trimmed(trimmer, clock, [5.0, 0.1]) == [False, True]
        after = resident_bytes()
    finally:
        gc.enable()
    assert before - after > 20 * MIB, (before, after)
