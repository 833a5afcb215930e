"""Heap pages back to the system once a process has gone quiet after a burst of work.

glibc keeps what a burst freed: an arena returns pages only from its top, and the free chunks
in between stay resident. Once quiet after `make bench`'s phases, a worker gave back 1 to 22
MiB a call (ADR 0036). ``malloc_trim(0)`` hands every whole free page of every arena back; it
costs milliseconds, so it runs only after a period in which the process did some work, or
grew, and then did almost nothing: never while pages are going out.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

# The allocator settings of every process ``tocsin up`` starts (and the image's). Two glibc
# arenas, not one per thread up to 8 per core (ADR 0035); and Python's objects from glibc
# rather than Python's own arenas: an arena of Python's goes back to the system only once
# every object in it is gone, so after a burst most of them stayed, each with a few live
# objects, where glibc's free pages go back at the next trim (ADR 0039).
ALLOCATOR = {"MALLOC_ARENA_MAX": "2", "PYTHONMALLOC": "malloc"}

# How often the trimmer reads the process's CPU time, in seconds.
TRIM_EVERY = 10.0
# Resident memory regained since the last trim that is worth a trim of its own.
REGROWN = 8 << 20


def glibc_trim() -> Callable[[], object] | None:
    """glibc's ``malloc_trim(0)``, or None where the C library has none (musl, macOS)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: trim(0)


def resident_bytes() -> int:
    """This process's resident set, or 0 where ``/proc`` does not say."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


class HeapTrimmer:
    """Every ``every`` seconds, reads the process's CPU time; after an interval that used
    less than ``idle_share`` of a core, following at least ``after_work`` seconds of CPU
    since the last trim, or with the process ``regrown`` bytes larger than the last trim
    left it, returns the free heap pages.

    The second condition is for what comes back after a trim: after a burst of 1,000
    incidents, a worker trimmed from 293 to 253 MiB held 318 MiB ten seconds later on 0.4 s
    of CPU, all of it free again (bench/ANALYSIS.md), too little work to count."""

    def __init__(
        self,
        trim: Callable[[], object] | None,
        *,
        every: float = TRIM_EVERY,
        idle_share: float = 0.05,
        after_work: float = 2.0,
        cpu: Callable[[], float] = time.process_time,
        rss: Callable[[], int] = resident_bytes,
        regrown: int = REGROWN,
        collect: Callable[[], object] = gc.collect,
    ) -> None:
        self._trim = trim
        self._collect = collect
        self._every = every
        self._idle = idle_share * every
        self._after_work = after_work
        self._cpu = cpu
        self._rss = rss
        self._regrown = regrown
        self._last = cpu()
        self._worked = 0.0
        self._trimmed_to = rss()
        self.trims = 0

    async def run(self, stop: asyncio.Event) -> None:
        if self._trim is None:
            return
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=self._every)
            except TimeoutError:
                await self.tick()

    async def tick(self) -> bool:
        """One interval's check: whether it trimmed."""
        now = self._cpu()
        used, self._last = now - self._last, now
        self._worked += used
        if self._trim is None or used >= self._idle:
            return False
        if self._worked < self._after_work and self._rss() - self._trimmed_to < self._regrown:
            return False
        trim = self._trim
        started = time.perf_counter()
        # The collector first, on the loop (it holds the GIL wherever it runs): nothing else
        # collects the cycles a quiet process holds, such as the workflows evicted from the
        # cache, and their memory would stay in the heap the trim reads (ADR 0039).
        collected = self._collect()
        # In a thread: ctypes lets go of the GIL, so the event loop keeps running.
        await asyncio.to_thread(trim)
        log.debug(
            "heap trimmed in %.1f ms (%s unreachable objects collected)",
            (time.perf_counter() - started) * 1000,
            collected,
        )
        self.trims += 1
        self._last = self._cpu()
        self._worked = 0.0
        self._trimmed_to = self._rss()
        return True
