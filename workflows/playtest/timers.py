"""Timers first: a rehearsal applies an action only once every timer its incident set for that
instant has fired (ADR 0028).

Temporal's time-skipping test server refuses a workflow task's completion that cancels a timer
which fired while the task ran ("invalid history builder state for action"), and then never
fails, times out or hands out that task again: the workflow stops and the update it was
answering is never answered. An action that wakes the incident cancels the timer it was
waiting on; while actions are applied the server's clock runs on in real time, so a timer set
for the action's own instant fires during the action's task. The server starts each timer late
by as long as the task that set it took, so its instant is read from the history, not guessed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.client import WorkflowHandle, WorkflowHistory

from workflows.playtest.cases import show

# How often a rehearsal looks again while a timer it waits for has not fired.
_POLL = 0.05
# A timer not fired after this long in real time is not going to be (the server's clock runs
# at least at the wall clock's pace): the action goes ahead and meets what it meets.
PATIENCE = timedelta(seconds=30)
# Longer than an update takes to apply on a loaded machine: a timer due this soon fires first,
# or it would fire while the update's task runs.
GUARD = timedelta(seconds=3)

_CLOSED = (
    "workflow_execution_completed_event_attributes",
    "workflow_execution_failed_event_attributes",
    "workflow_execution_timed_out_event_attributes",
    "workflow_execution_canceled_event_attributes",
    "workflow_execution_terminated_event_attributes",
    "workflow_execution_continued_as_new_event_attributes",
)


def _at(stamp: Timestamp) -> datetime:
    return stamp.ToDatetime().replace(tzinfo=UTC)


def pending(history: WorkflowHistory) -> list[datetime]:
    """The instants the run's unfired timers were set for. The workflow asked for a duration
    from its own ``workflow.now()``, the start of the task that set the timer; the server counts
    it from that task's end, so the instant asked for is the task's start plus the duration."""
    timers: dict[str, datetime] = {}
    task_began: datetime | None = None
    for event in history.events:
        kind = event.WhichOneof("attributes")
        if kind in _CLOSED:
            return []
        if kind == "workflow_task_started_event_attributes":
            task_began = _at(event.event_time)
        elif kind == "timer_started_event_attributes":
            started = event.timer_started_event_attributes
            since = task_began or _at(event.event_time)
            timers[started.timer_id] = since + started.start_to_fire_timeout.ToTimedelta()
        elif kind == "timer_fired_event_attributes":
            timers.pop(event.timer_fired_event_attributes.timer_id, None)
        elif kind == "timer_canceled_event_attributes":
            timers.pop(event.timer_canceled_event_attributes.timer_id, None)
    return sorted(timers.values())


async def fired_by(
    handle: WorkflowHandle[Any, Any], until: datetime, clock: Callable[[], Awaitable[datetime]]
) -> None:
    """Wait until no timer of the workflow set for ``until`` or before, or for less than
    ``GUARD`` after the server's clock (``clock``), is still to fire: that clock runs at the wall
    clock's pace meanwhile, so each does, a moment late."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + PATIENCE.total_seconds()
    while True:
        due = pending(await handle.fetch_history())
        if not due or due[0] > max(until, await clock() + GUARD):
            return
        if loop.time() > give_up:
            return
        await asyncio.sleep(_POLL)


class StalledClock(RuntimeError):
    """The time-skipping server stopped skipping: one of the rehearsal's workflows met the
    server's timer defect (ADR 0028) and will never run again."""

    def __init__(self, skip: timedelta) -> None:
        super().__init__(
            f"the rehearsal's clock could not move on by {show(skip)[1:]}: a workflow "
            "task was refused by Temporal's time-skipping server (its timer defect, ADR 0028); "
            "run again, with fewer incidents at once"
        )
