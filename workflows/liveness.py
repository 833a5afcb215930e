"""Activities that beat while they run, so a dead worker's work is taken up in seconds.

Without a heartbeat, Temporal learns that the worker running an activity died only when the
activity's start-to-close timeout passes: two minutes for an incident's effects batch, one
for a page. A responder would wait that long for a page the killed worker held. An activity
scheduled with a heartbeat timeout beats from a task of its own while it runs (any activity,
however long it waits on Slack's pacing), so the server retries it on another worker once
the beats stop, a heartbeat timeout later. Retries are safe: every send is once by key.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)


class Heartbeating(Interceptor):
    """The worker's interceptor: every activity scheduled with a heartbeat timeout beats."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Beating(next)


class _Beating(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        timeout = activity.info().heartbeat_timeout
        if not timeout:
            return await self.next.execute_activity(input)
        beats = asyncio.create_task(_beat(timeout.total_seconds() / 4))
        try:
            return await self.next.execute_activity(input)
        finally:
            beats.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beats


async def _beat(every: float) -> None:
    # The first beat a quarter of the timeout in, not at the start: the server counts the
    # timeout from the start, and most activities are done before then, so each is spared a
    # heartbeat call to the server.
    while True:
        await asyncio.sleep(every)
        activity.heartbeat()
