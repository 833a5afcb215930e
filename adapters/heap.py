"""Heap pages back to the system once a process has gone quiet after a burst of work.

glibc keeps what a burst freed: an arena returns pages only from its top, and the free chunks
in between stay resident. Once quiet after `make bench`'s phases, a worker gave back 1 to 22
MiB a call (ADR 0036). ``malloc_trim(0)`` hands every whole free page of every arena back; it
costs milliseconds, so it runs only after a period in which the process did some work and
then almost none: never while pages are going out.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

# How often the trimmer reads the process's CPU time, in seconds.
TRIM_EVERY = 10.0


def glibc_trim() -> Callable[[], object] | None:
    """glibc's ``malloc_trim(0)``, or None where the C library has none (musl, macOS)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: trim(0)


class HeapTrimmer:
    """Every ``every`` seconds, reads the process's CPU time; after an interval that used
    less than ``idle_share`` of a core, following at least ``after_work`` seconds of CPU
    since the last trim, returns the free heap pages."""

    def __init__(
        self,
        trim: Callable[[], object] | None,
        *,
        every: float = TRIM_EVERY,
        idle_share: float = 0.05,
        after_work: float = 2.0,
        cpu: Callable[[], float] = time.process_time,
    ) -> None:
        self._trim = trim
        self._every = every
        self._idle = idle_share * every
        self._after_work = after_work
        self._cpu = cpu
        self._last = cpu()
        self._worked = 0.0
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
        if self._trim is None or used >= self._idle or self._worked < self._after_work:
            return False
        trim = self._trim
        started = time.perf_counter()
        # In a thread: ctypes lets go of the GIL, so the event loop keeps running.
        await asyncio.to_thread(trim)
        log.debug("heap trimmed in %.1f ms", (time.perf_counter() - started) * 1000)
        self.trims += 1
        self._last = self._cpu()
        self._worked = 0.0
        return True
