"""Which timers a rehearsal waits for before an action: those still to fire, at the instant the
workflow asked for (its task's start plus the duration), not the later one the server counts
from the task's end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.history.v1 import (
    HistoryEvent,
    TimerCanceledEventAttributes,
    TimerFiredEventAttributes,
    TimerStartedEventAttributes,
    WorkflowExecutionTerminatedEventAttributes,
    WorkflowTaskStartedEventAttributes,
)
from temporalio.client import WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from adapters.records import RecordsStore
from alerts.catalog import load_catalog
from playbooks.base import DEFAULT_DIR
from playbooks.loader import load_playbooks
from workflows.playtest.runner import Rehearsal
from workflows.playtest.timers import StalledClock, pending

T0 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def _stamp(at: timedelta) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(T0 + at)
    return stamp


def _task(at: timedelta) -> HistoryEvent:
    return HistoryEvent(
        event_time=_stamp(at),
        workflow_task_started_event_attributes=WorkflowTaskStartedEventAttributes(),
    )


def _timer(at: timedelta, timer_id: str, minutes: int) -> HistoryEvent:
    fire = Duration()
    fire.FromTimedelta(timedelta(minutes=minutes))
    attributes = TimerStartedEventAttributes(timer_id=timer_id, start_to_fire_timeout=fire)
    return HistoryEvent(event_time=_stamp(at), timer_started_event_attributes=attributes)


def _history(*events: HistoryEvent) -> WorkflowHistory:
    return WorkflowHistory("incident-x", list(events))


def test_a_timer_counts_from_the_start_of_the_task_that_set_it() -> None:
    # The task began at +0s and took 0.4 s: the server fires at +5m0.4s, the workflow asked +5m.
    history = _history(_task(timedelta(0)), _timer(timedelta(seconds=0.4), "1", 5))
    assert pending(history) == [T0 + timedelta(minutes=5)]


def test_fired_and_cancelled_timers_are_not_waited_for() -> None:
    history = _history(
        _task(timedelta(0)),
        _timer(timedelta(seconds=0.1), "1", 5),
        _timer(timedelta(seconds=0.1), "2", 15),
        HistoryEvent(timer_fired_event_attributes=TimerFiredEventAttributes(timer_id="1")),
        _task(timedelta(minutes=5, seconds=0.2)),
        HistoryEvent(timer_canceled_event_attributes=TimerCanceledEventAttributes(timer_id="2")),
        _timer(timedelta(minutes=5, seconds=0.3), "3", 10),
    )
    assert pending(history) == [T0 + timedelta(minutes=15, seconds=0.2)]


def test_a_closed_workflow_has_no_timer_to_wait_for() -> None:
    closed = HistoryEvent(
        workflow_execution_terminated_event_attributes=WorkflowExecutionTerminatedEventAttributes()
    )
    assert pending(_history(_task(timedelta(0)), _timer(timedelta(0), "1", 5), closed)) == []


class _StoppedServer:
    """A time-skipping server whose clock no longer skips: a workflow task it refused holds
    it, and the skip's call times out (ADR 0028)."""

    async def get_current_time(self) -> datetime:
        return T0

    async def sleep(self, duration: timedelta) -> None:
        raise RPCError("Timeout expired", RPCStatusCode.CANCELLED, b"")


async def test_a_clock_that_stops_skipping_says_so_instead_of_timing_out() -> None:
    rehearsal = Rehearsal(
        cast(WorkflowEnvironment, _StoppedServer()),
        cast(RecordsStore, None),
        DEFAULT_DIR,
        load_playbooks(DEFAULT_DIR),
        load_catalog(),
        Path("/nonexistent"),
    )
    with pytest.raises(StalledClock) as stalled:
        await rehearsal._advance_to(T0 + timedelta(minutes=5))
    assert str(stalled.value) == (
        "the rehearsal's clock could not move on by 5m: a workflow task was refused by "
        "Temporal's time-skipping server (its timer defect, ADR 0028); run again, with fewer "
        "incidents at once"
    )
